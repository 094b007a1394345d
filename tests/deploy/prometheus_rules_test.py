"""The shipped Prometheus and Alertmanager files pass their own tools:
promtool check rules and config, the promtool unit tests of every alert, and
amtool check-config; the unit tests name every alert the rules define."""
import os
import subprocess
import unittest

import yaml

from deploytest import SOURCE

PROMETHEUS = os.path.join(SOURCE, "deploy", "prometheus")


def run(*argv, cwd=PROMETHEUS):
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True)


class PrometheusRulesTest(unittest.TestCase):
    def test_promtool_checks_the_rules_and_the_scrape_config(self):
        r = run("promtool", "check", "rules", "featmond.rules.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("promtool", "check", "config", "prometheus.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_promtool_unit_tests_pass(self):
        r = run("promtool", "test", "rules", "tests/featmond.rules.test.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_alert_is_unit_tested_firing_and_not_firing(self):
        with open(os.path.join(PROMETHEUS, "featmond.rules.yml")) as f:
            alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r}
        with open(os.path.join(PROMETHEUS, "tests", "featmond.rules.test.yml")) as f:
            cases = [c for t in yaml.safe_load(f)["tests"] for c in t["alert_rule_test"]]
        firing = {c["alertname"] for c in cases if c["exp_alerts"]}
        silent = {c["alertname"] for c in cases if not c["exp_alerts"]}
        self.assertEqual(alerts - firing, set(), "never tested firing")
        self.assertEqual(alerts - silent, set(), "never tested staying silent")
        for alert in alerts:
            self.assertTrue(alert.startswith("Featmon"), alert)

    def test_every_rule_has_a_summary_a_description_and_a_runbook(self):
        with open(os.path.join(PROMETHEUS, "featmond.rules.yml")) as f:
            for group in yaml.safe_load(f)["groups"]:
                for rule in group["rules"]:
                    self.assertEqual(set(rule["annotations"]), {"summary", "description", "runbook"}, rule["alert"])
                    self.assertIn(rule["labels"]["severity"], ("critical", "warning", "info"))

    def test_alertmanager_example_is_valid_and_routes_retraining_to_a_webhook(self):
        path = os.path.join(SOURCE, "deploy", "alertmanager", "alertmanager.yml")
        r = run("amtool", "check-config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(path) as f:
            config = yaml.safe_load(f)
        retrain = [route for route in config["route"]["routes"] if 'action="retrain"' in route.get("matchers", [])]
        self.assertEqual(len(retrain), 1)
        receiver = {r["name"]: r for r in config["receivers"]}[retrain[0]["receiver"]]
        self.assertTrue(receiver["webhook_configs"][0]["url"].startswith("http"))


if __name__ == "__main__":
    unittest.main()
