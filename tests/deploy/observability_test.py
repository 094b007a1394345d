"""featmond with the real programs around it, as an operator wires them: a
broker process, featmond, the generator injecting a feature drift, Debian's
Prometheus scraping featmond with the shipped rules, and Debian's Alertmanager
with the shipped routing, its webhooks pointed at a receiver in this test.

The test's copies of the shipped configs change only what a test must:
addresses, paths, and intervals of seconds instead of minutes. It checks that
  - the drift alert (and the retrain alert) fire in Prometheus and reach the
    retraining webhook through Alertmanager, and only that receiver;
  - every query of every Grafana dashboard (panels, annotations, variables)
    returns data from Prometheus' HTTP API;
  - every metric the alert rules use is one featmond exports.
"""
import glob
import http.server
import json
import math
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import yaml

from deploytest import BUILD, SOURCE, free_port, http_get, http_json, wait_for

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
RATE_INTERVAL = "10s"  # $__rate_interval: ten 1 s scrapes, at least the four Grafana requires


class WebhookReceiver:
    """Records Alertmanager's webhook POSTs by path."""

    def __init__(self):
        self.received = []  # (path, payload)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, path):
        with self.lock:
            return [a for p, payload in self.received if p == path for a in payload["alerts"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.procs = []
        cls.logs = []
        cls.started_s = time.time()
        try:
            cls.start_everything()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for proc in reversed(cls.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if getattr(cls, "stop_lookups", None):
            cls.stop_lookups.set()
        if getattr(cls, "hooks", None):
            cls.hooks.close()
        for log in cls.logs:
            log.close()
        cls.tmp.cleanup()

    @classmethod
    def spawn(cls, name, argv, **kwargs):
        log = open(f"{cls.dir}/{name}.log", "w")
        cls.logs.append(log)
        proc = subprocess.Popen(argv, stdout=kwargs.pop("stdout", log), stderr=subprocess.STDOUT, **kwargs)
        cls.procs.append(proc)
        return proc

    @classmethod
    def log_tail(cls, name, lines=30):
        with open(f"{cls.dir}/{name}.log") as f:
            return "\n".join(f.read().splitlines()[-lines:])

    @classmethod
    def start_everything(cls):
        broker = subprocess.Popen([f"{BUILD}/tools/featmon-broker", "--partitions", "4"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        cls.procs.append(broker)
        cls.logs.append(broker.stdout)
        cls.bootstrap = broker.stdout.readline().strip()
        assert cls.bootstrap, "the broker printed no address"

        cls.featmond_port = free_port()
        with open(f"{cls.dir}/featmond.yaml", "w") as f:
            yaml.safe_dump({"kafka": {"group_id": "featmond-observability",
                                      "properties": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}},
                            "ingest": {"commit_interval": "50ms"},
                            # Five hours of generated traffic with no daily cycle: judged
                            # against its first hour (the seasonal default needs a day).
                            "monitoring": {"commit_interval": "1s",
                                           "defaults": {"reference": "first_window"}}}, f)
        cls.spawn("featmond", [f"{BUILD}/daemon/featmond", "--config", f"{cls.dir}/featmond.yaml",
                               "--data-dir", f"{cls.dir}/data", "--kafka-brokers", cls.bootstrap,
                               "--http-listen", f"127.0.0.1:{cls.featmond_port}", "--log-format", "json"])
        assert wait_for(lambda: http_get(cls.featmond_port, "/readyz")[0] == 200, 40), cls.log_tail("featmond")

        cls.hooks = WebhookReceiver()
        cls.alertmanager_port = free_port()
        with open(os.path.join(SOURCE, "deploy", "alertmanager", "alertmanager.yml")) as f:
            am = yaml.safe_load(f)
        for receiver in am["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = f"http://127.0.0.1:{cls.hooks.port}/{receiver['name']}"

        def shorten(route):
            route.update(group_wait="1s", group_interval="1s")
            for child in route.get("routes", []):
                shorten(child)
        shorten(am["route"])
        with open(f"{cls.dir}/alertmanager.yml", "w") as f:
            yaml.safe_dump(am, f)
        cls.spawn("alertmanager", ["prometheus-alertmanager", f"--config.file={cls.dir}/alertmanager.yml",
                                   f"--storage.path={cls.dir}/alertmanager-data",
                                   f"--web.listen-address=127.0.0.1:{cls.alertmanager_port}",
                                   "--cluster.listen-address="])

        cls.prometheus_port = free_port()
        with open(os.path.join(SOURCE, "deploy", "prometheus", "prometheus.yml")) as f:
            prom = yaml.safe_load(f)
        prom["global"].update(scrape_interval="1s", evaluation_interval="1s")
        prom["rule_files"] = [os.path.join(SOURCE, "deploy", "prometheus", r) for r in prom["rule_files"]]
        prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{cls.alertmanager_port}"]
        job = prom["scrape_configs"][0]
        job["scrape_interval"] = "1s"
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{cls.featmond_port}"]
        with open(f"{cls.dir}/prometheus.yml", "w") as f:
            yaml.safe_dump(prom, f)
        cls.spawn("prometheus", ["prometheus", f"--config.file={cls.dir}/prometheus.yml",
                                 f"--storage.tsdb.path={cls.dir}/prometheus-data",
                                 f"--web.listen-address=127.0.0.1:{cls.prometheus_port}"])
        for name, port in (("prometheus", cls.prometheus_port), ("alertmanager", cls.alertmanager_port)):
            assert wait_for(lambda: http_get(port, "/-/ready")[0] == 200, 60), cls.log_tail(name)

        # Feature lookups all along, so the serving panels have requests.
        cls.stop_lookups = threading.Event()

        def lookups():
            n = 0
            while not cls.stop_lookups.wait(0.1):
                http_get(cls.featmond_port, f"/v1/features/user/u{n % 100}")
                n += 1
        threading.Thread(target=lookups, daemon=True).start()

        # Two hours of history without drift. The model's first evaluations
        # create its retrain counters at 0; Prometheus scrapes them before
        # any request, as it would in production.
        now = int(time.time() * 1000)
        cls.drift_at = now - 3 * HOUR_MS
        gen = [f"{BUILD}/tools/featmon-gen", "--brokers", cls.bootstrap, "--users", "10000", "--items", "2000",
               "--predictions"]
        subprocess.run(gen + ["--rate", "0", "--start-ts-ms", str(now - 5 * HOUR_MS), "--step-ms", "500",
                              "--count", "14400"], check=True, capture_output=True)
        assert wait_for(lambda: cls.prom_query('featmon_retrain_requests_total{model="ctr_ranker"}'), 90), \
            "the retrain counters never appeared in Prometheus\n" + cls.log_tail("featmond")
        # Three hours with dwell_prev_s shifted by 3 standard deviations, then
        # live traffic that stays shifted.
        subprocess.run(gen + ["--rate", "0", "--start-ts-ms", str(cls.drift_at), "--step-ms", "500",
                              "--count", "21600", "--seed", "2", "--drift", "shift",
                              "--drift-at-ms", str(cls.drift_at)], check=True, capture_output=True)
        cls.spawn("generator", gen + ["--rate", "200", "--seed", "3", "--format", "mixed", "--drift", "shift",
                                      "--drift-at-ms", str(cls.drift_at)])

    @classmethod
    def prom_query(cls, expr):
        r = http_json(cls.prometheus_port, "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return r["data"]["result"] if r else []

    @classmethod
    def prom_range(cls, expr, start_s, end_s, step_s=2):
        q = urllib.parse.urlencode({"query": expr, "start": start_s, "end": end_s, "step": step_s})
        status, body = http_get(cls.prometheus_port, "/api/v1/query_range?" + q)
        return status, json.loads(body) if body.startswith("{") else body

    def firing(self, alertname):
        r = http_json(self.prometheus_port, "/api/v1/alerts") or {"data": {"alerts": []}}
        return [a for a in r["data"]["alerts"] if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

    def test_1_drift_alert_fires_and_reaches_the_retraining_webhook_through_alertmanager(self):
        self.assertTrue(wait_for(lambda: self.firing("FeatmonDataDriftDetected"), 150, 1),
                        "FeatmonDataDriftDetected never fired\n" + self.log_tail("featmond"))
        drifting = {a["labels"]["feature"] for a in self.firing("FeatmonDataDriftDetected")}
        self.assertIn("dwell_prev_s", drifting)
        self.assertTrue(wait_for(lambda: self.firing("FeatmonRetrainRequested"), 60, 1))

        def delivered(alertname):
            return [a for a in self.hooks.alerts("/ml-retraining")
                    if a["labels"]["alertname"] == alertname and a["status"] == "firing"]
        self.assertTrue(wait_for(lambda: delivered("FeatmonDataDriftDetected"), 60, 0.5),
                        "Alertmanager did not deliver the drift alert\n" + self.log_tail("alertmanager"))
        alert = next(a for a in delivered("FeatmonDataDriftDetected") if a["labels"]["feature"] == "dwell_prev_s")
        self.assertEqual(alert["labels"]["model"], "ctr_ranker")
        self.assertEqual(alert["labels"]["action"], "retrain")
        self.assertIn("runbook", alert["annotations"])
        self.assertTrue(wait_for(lambda: delivered("FeatmonRetrainRequested"), 60, 0.5))
        # Routing: retraining alerts go to the retraining receiver only.
        self.assertFalse([a for a in self.hooks.alerts("/featmon-operators") if a["labels"].get("action") == "retrain"])

    def test_2_every_dashboard_query_returns_data(self):
        # Let the rate windows fill with live traffic first.
        time.sleep(12)
        end = time.time()
        substitutions = {"$__rate_interval": RATE_INTERVAL, "$job": "featmond", "$instance": ".*",
                         "$model": "ctr_ranker", "$version": ".*"}

        def expand(expr):
            for var in sorted(substitutions, key=len, reverse=True):
                expr = expr.replace(var, substitutions[var])
            self.assertNotIn("$", expr)
            return expr

        checked = 0
        for path in sorted(glob.glob(os.path.join(SOURCE, "grafana", "dashboards", "*.json"))):
            with open(path) as f:
                dashboard = json.load(f)
            name = os.path.basename(path)
            for var in dashboard["templating"]["list"]:
                if var["type"] != "query":
                    continue
                m = re.fullmatch(r"label_values\((?:(.+), )?(\w+)\)", var["query"]["query"])
                self.assertIsNotNone(m, var["query"]["query"])
                params = {"match[]": expand(m.group(1))} if m.group(1) else {}
                values = http_json(self.prometheus_port, f"/api/v1/label/{m.group(2)}/values?" +
                                   urllib.parse.urlencode(params))["data"]
                self.assertTrue(values, f"{name}: variable {var['name']} has no values")
                checked += 1
            queries = [(p["title"], t) for p in dashboard["panels"] for t in p["targets"]]
            queries += [(a["name"], a) for a in dashboard["annotations"]["list"] if "expr" in a]
            for title, target in queries:
                expr = expand(target["expr"])
                if target.get("instant"):
                    result = self.prom_query(expr)
                    self.assertTrue(result, f"{name} / {title}: no data for {expr}")
                else:
                    status, body = self.prom_range(expr, self.started_s, end)
                    self.assertEqual(status, 200, f"{name} / {title}: {body}")
                    values = [float(v) for s in body["data"]["result"] for _, v in s["values"]]
                    self.assertTrue([v for v in values if math.isfinite(v)],
                                    f"{name} / {title}: no finite value for {expr}")
                checked += 1
        self.assertGreater(checked, 40)

    def test_3_every_metric_the_rules_use_is_exported_by_featmond(self):
        with open(os.path.join(SOURCE, "deploy", "prometheus", "featmond.rules.yml")) as f:
            exprs = [r["expr"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
        used = {m for e in exprs for m in re.findall(r"\bfeatmon_\w+", e)}
        exported = set(http_json(self.prometheus_port, "/api/v1/label/__name__/values")["data"])
        self.assertTrue(used)
        self.assertEqual(used - exported, set())
        self.assertEqual(self.prom_query('up{job="featmond"}')[0]["value"][1], "1")


if __name__ == "__main__":
    unittest.main()
