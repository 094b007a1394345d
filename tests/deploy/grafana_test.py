"""The Grafana files: the committed dashboards are what build_dashboards.py
writes, each is well-formed (unique uids and panel ids, every panel with a
query on the datasource variable, a model variable on Model health), and the
provisioning files point at them. That the queries return data is
observability_test.py's job."""
import glob
import importlib.util
import json
import os
import unittest

import yaml

from deploytest import SOURCE

GRAFANA = os.path.join(SOURCE, "grafana")


def load_builder():
    spec = importlib.util.spec_from_file_location("build_dashboards", os.path.join(GRAFANA, "build_dashboards.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class GrafanaTest(unittest.TestCase):
    def test_committed_dashboards_are_what_the_builder_writes(self):
        rendered = load_builder().render()
        committed = {os.path.basename(p) for p in glob.glob(os.path.join(GRAFANA, "dashboards", "*.json"))}
        self.assertEqual(committed, set(rendered))
        for name, text in rendered.items():
            with open(os.path.join(GRAFANA, "dashboards", name)) as f:
                self.assertEqual(f.read(), text, f"{name} is stale: run /usr/bin/python3 grafana/build_dashboards.py")

    def test_dashboards_are_well_formed(self):
        uids = set()
        for path in glob.glob(os.path.join(GRAFANA, "dashboards", "*.json")):
            with open(path) as f:
                d = json.load(f)
            self.assertNotIn(d["uid"], uids)
            uids.add(d["uid"])
            names = [v["name"] for v in d["templating"]["list"]]
            self.assertEqual(names[:3], ["datasource", "job", "instance"], path)
            ids = [p["id"] for p in d["panels"]]
            self.assertEqual(len(ids), len(set(ids)), path)
            for p in d["panels"]:
                self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
                self.assertTrue(p["targets"], p["title"])
                for t in p["targets"]:
                    self.assertRegex(t["expr"], r"featmon_|^up\{", p["title"])
                    self.assertIn('job="$job"', t["expr"], p["title"])
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
        self.assertEqual(uids, {"featmon-ingest", "featmon-serving", "featmon-features", "featmon-model-health"})
        with open(os.path.join(GRAFANA, "dashboards", "featmon-model-health.json")) as f:
            health = json.load(f)
        self.assertIn("model", [v["name"] for v in health["templating"]["list"]])
        kinds = {p["type"] for p in health["panels"]}
        self.assertTrue({"table", "state-timeline", "timeseries"} <= kinds)
        self.assertTrue(any("featmon_retrain_requests_total" in a.get("expr", "")
                            for a in health["annotations"]["list"]))

    def test_provisioning_points_at_the_dashboards_and_a_prometheus(self):
        with open(os.path.join(GRAFANA, "provisioning", "dashboards", "featmon.yaml")) as f:
            providers = yaml.safe_load(f)["providers"]
        self.assertEqual(providers[0]["type"], "file")
        self.assertTrue(providers[0]["options"]["path"])
        with open(os.path.join(GRAFANA, "provisioning", "datasources", "featmon-prometheus.yaml")) as f:
            sources = yaml.safe_load(f)["datasources"]
        self.assertEqual(sources[0]["type"], "prometheus")


if __name__ == "__main__":
    unittest.main()
