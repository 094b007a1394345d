#!/usr/bin/env python3
"""featmond's pages in a real browser (headless Chromium over the DevTools
protocol), against a featmond fed with a drift scenario: five hours of
traffic whose dwell_prev_s shifts after three.

Each page, at 1280x800 and at phone width, must
  - name the drifted feature (dwell_prev_s, "drift") and the stable ones ("ok"),
    the drifted one first;
  - draw its charts (svg) with data in them: bars of non-zero height, lines
    with points;
  - log no console error and throw no exception;
  - send no request anywhere but featmond's own origin;
  - fit the screen's width.
featmon-report's file must open in Chromium with the network off and show
the same charts. Against a featmond with a bearer token, the pages must ask
for it and draw once it is right. Screenshots go to $FEATMON_BUILD_DIR/tests/ui/screenshots.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import websocket  # Debian's python3-websocket

BUILD = os.environ.get("FEATMON_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
FEATMOND = os.path.join(BUILD, "daemon/featmond")
GEN = os.path.join(BUILD, "tools/featmon-gen")
REPORT = os.path.join(BUILD, "tools/featmon-report")
SHOTS = os.path.join(BUILD, "tests/ui/screenshots")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DESKTOP = (1280, 800)
PHONE = (390, 844)
HOUR_MS = 3_600_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def wait_for(what, predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def first_line(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read().split("\n")[0]


class PageError(ValueError):
    """An expression threw in the page (it may not have loaded yet)."""


class Browser:
    """One headless Chromium and its first tab, driven over the DevTools
    protocol; records console errors, exceptions and every request."""

    def __init__(self, profile_dir):
        port_file = os.path.join(profile_dir, "DevToolsActivePort")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile_dir}",
             "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = wait_for("Chromium's DevTools port", lambda: first_line(port_file), 30)
        pages = wait_for("a page target", lambda: [t for t in get_json(f"http://127.0.0.1:{port}/json/list")
                                                   if t["type"] == "page"], 30)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def close(self):
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(10)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise PageError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url, size, offline=False):
        self.events.clear()
        width, height = size
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        self.call("Network.emulateNetworkConditions", offline=offline, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1)
        self.call("Page.navigate", url=url)

    def wait_until(self, what, expression, seconds=20):
        return wait_for(what, lambda: self.evaluate(expression), seconds)

    def screenshot(self, name):
        import base64
        os.makedirs(SHOTS, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        with open(os.path.join(SHOTS, name), "wb") as f:
            f.write(base64.b64decode(data))

    def screenshot_page(self, name, size, max_height):
        """The page from its top, as tall as its content up to max_height."""
        width, height = size
        tall = min(self.evaluate("document.documentElement.scrollHeight"), max_height)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=tall, deviceScaleFactor=1, mobile=False)
        try:
            self.screenshot(name)
        finally:
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)

    def problems(self, origin):
        """Console errors, exceptions and requests that left `origin`."""
        self.call("Runtime.evaluate", expression="0")  # drains the events queued so far
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('exception', {}).get('description', p['exceptionDetails'])}")
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not (url.startswith(origin) or url.startswith("data:")):
                    out.append(f"request left the origin: {url}")
        return out


# What every page's charts must carry.
CHARTS = """(() => {
  const bars = [...document.querySelectorAll('svg rect.bar')];
  const paths = [...document.querySelectorAll('svg path.series')].filter(p => (p.getAttribute('d') || '').length > 10);
  return {
    svgs: document.querySelectorAll('main svg').length,
    bars: bars.length,
    tall_bars: bars.filter(b => Number(b.getAttribute('height')) > 1).length,
    series: paths.length,
    points: document.querySelectorAll('svg circle.point').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
})()"""

MODEL_PAGE = """(() => {
  const cards = [...document.querySelectorAll('#features .track')];
  return {
    order: cards.map(c => c.dataset.feature),
    status: Object.fromEntries(cards.map(c => [c.dataset.feature, c.dataset.status])),
    words: Object.fromEntries(cards.map(c => [c.dataset.feature, c.querySelector('.verdict').textContent])),
    text: document.querySelector('main').innerText,
  };
})()"""


class FeatmondAndBrowser(unittest.TestCase):
    """One featmond on its embedded broker with `config` and one Chromium,
    for the test class's tests."""

    @classmethod
    def start(cls, config_text, env=None):
        cls.tmp = tempfile.mkdtemp(prefix="featmon-pages-")
        cls.port = free_port()
        cls.origin = f"http://127.0.0.1:{cls.port}"
        config = os.path.join(cls.tmp, "featmon.yaml")
        with open(config, "w") as f:
            f.write(config_text)
        cls.log = open(os.path.join(cls.tmp, "featmond.log"), "w")
        cls.daemon = subprocess.Popen([FEATMOND, "--config", config, "--embedded-kafka", "--data-dir",
                                       os.path.join(cls.tmp, "data"), "--http-listen", f"127.0.0.1:{cls.port}"],
                                      stdout=cls.log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        cls.browser = None

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.close()
        exited = cls.daemon.poll()
        cls.daemon.send_signal(signal.SIGTERM)
        cls.daemon.wait(30)
        cls.log.close()
        if exited is not None:
            with open(os.path.join(cls.tmp, "featmond.log")) as f:
                sys.stderr.write(f"featmond exited early with {exited}; its log ends:\n{f.read()[-4000:]}\n")
        shutil.rmtree(cls.tmp, ignore_errors=True)


@unittest.skipUnless(CHROMIUM, "chromium is not installed (scripts/dev.sh test installs it)")
class PagesTest(FeatmondAndBrowser):
    @classmethod
    def setUpClass(cls):
        cls.start("kafka:\n  embedded_partitions: 4\nmonitoring:\n  defaults: {reference: first_window}\n")
        bootstrap = wait_for("featmond's embedded broker",
                             lambda: get_json(cls.origin + "/v1/status")["embedded_kafka_bootstrap"], 60)
        # Five hours of event time ending ten minutes ago; dwell_prev_s shifts after three.
        cls.bootstrap = bootstrap
        cls.start = (int(time.time() * 1000) - 5 * HOUR_MS - 600_000) // HOUR_MS * HOUR_MS
        cls.generate(cls.start, 36000, drift_after_s=10800, seed=7)

        def drifted():
            v = get_json(cls.origin + "/v1/monitoring/models/ctr_ranker")["versions"]["v1"]
            return any(f["feature"] == "dwell_prev_s" and f["status"] == "drift" for f in v["features"])
        wait_for("dwell_prev_s to drift", drifted, 120)
        cls.browser = Browser(os.path.join(cls.tmp, "chromium"))

    @classmethod
    def generate(cls, start_ms, count, drift_after_s, seed):
        """`count` events, one every 500 ms of event time from start_ms, whose
        dwell_prev_s shifts drift_after_s seconds in."""
        subprocess.run([GEN, "--brokers", cls.bootstrap, "--rate", "0", "--users", "2000", "--items", "300",
                        "--predictions", "--start-ts-ms", str(start_ms), "--step-ms", "500", "--count", str(count),
                        "--drift", "shift", "--drift-feature", "dwell_prev_s", "--drift-after", str(drift_after_s),
                        "--seed", str(seed)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def assert_clean(self, page):
        self.assertEqual(self.browser.problems(self.origin), [], page)

    def assert_charts(self, page, at_least_svgs):
        charts = self.browser.evaluate(CHARTS)
        self.assertGreaterEqual(charts["svgs"], at_least_svgs, f"{page}: {charts}")
        self.assertLessEqual(charts["overflow"], 1, f"{page} is wider than the screen: {charts}")
        return charts

    def test_overview_lists_the_model_and_ingest_health(self):
        for size in (DESKTOP, PHONE):
            self.browser.open(self.origin + "/ui/", size)
            row = self.browser.wait_until("the models table", """(() => {
              const r = document.querySelector('#models tbody tr');
              return r && r.innerText;
            })()""")
            self.assertIn("ctr_ranker", row)
            self.assertTrue(any(word in row for word in ("drift", "retrain requested")), row)
            ingest = self.browser.evaluate("document.querySelector('#ingest').innerText")
            for label in ("Consumer lag", "Freshness", "Rejected", "Commits stalled"):
                self.assertIn(label, ingest)
            self.browser.screenshot(f"overview-{size[0]}.png")
            self.assert_charts("/ui/", 0)
            self.assert_clean("/ui/")

    def check_model_page(self, page):
        seen = self.browser.wait_until("the feature cards", f"({MODEL_PAGE}).order.length >= 5 && {MODEL_PAGE}")
        self.assertEqual(seen["order"][0], "dwell_prev_s", f"{page}: worst first: {seen['order']}")
        self.assertEqual(seen["status"]["dwell_prev_s"], "drift")
        self.assertEqual(seen["words"]["dwell_prev_s"], "drift")
        stable = [f for f, s in seen["status"].items() if s == "ok"]
        self.assertGreaterEqual(len(stable), 2, seen["status"])
        for f in stable:
            self.assertEqual(seen["words"][f], "ok")
        for heading in ("Retrain requests", "Features, worst first", "Performance over event time"):
            self.assertIn(heading, seen["text"])
        charts = self.assert_charts(page, 2 * len(seen["order"]))
        # Two bars per bin for every feature and the score; tall ones among them.
        self.assertGreater(charts["bars"], 10 * len(seen["order"]), charts)
        self.assertGreater(charts["tall_bars"], charts["bars"] // 4, charts)
        self.assertGreaterEqual(charts["series"], len(seen["order"]), charts)
        self.assertGreater(charts["points"], 20, charts)
        return charts

    def test_model_page_shows_the_drifted_feature_first_with_its_charts(self):
        for size in (DESKTOP, PHONE):
            self.browser.open(self.origin + "/ui/models/ctr_ranker", size)
            self.check_model_page("/ui/models/ctr_ranker")
            self.browser.screenshot(f"model-{size[0]}.png")
            if size == DESKTOP:  # the README's picture: down to the drifted feature's card
                self.browser.screenshot_page("model-1280-tall.png", size, 1250)
                self.browser.screenshot_page("model-1280-full.png", size, 12000)
            self.assert_clean("/ui/models/ctr_ranker")

    def test_model_page_updates_itself_at_most_once_a_second(self):
        self.browser.open(self.origin + "/ui/models/ctr_ranker", DESKTOP)
        self.check_model_page("/ui/models/ctr_ranker")
        self.browser.events.clear()
        time.sleep(6)
        self.browser.call("Runtime.evaluate", expression="0")
        requests = [e for e in self.browser.events if e["method"] == "Network.requestWillBeSent"]
        self.assertGreaterEqual(len(requests), 2, "the page should poll for new evaluations")
        self.assertLessEqual(len(requests), 6, [e["params"]["request"]["url"] for e in requests])

        # Ten more minutes of event time: two more evaluations, drawn without a reload.
        last_evaluation = "document.querySelector('#summary').innerText"
        before = self.browser.evaluate(last_evaluation)
        points = self.browser.evaluate("document.querySelectorAll('#features svg circle.point').length")
        self.browser.evaluate("window.notReloaded = true")
        self.generate(self.start + 5 * HOUR_MS, 1200, drift_after_s=0, seed=8)
        after = self.browser.wait_until("the page to show the new evaluation",
                                        f"{last_evaluation} !== {json.dumps(before)} && {last_evaluation}", 60)
        self.assertTrue(self.browser.evaluate("window.notReloaded === true"), "the page reloaded itself")
        self.assertGreater(self.browser.evaluate("document.querySelectorAll('#features svg circle.point').length"),
                           points, f"{before} -> {after}: the timelines should gain the new evaluations")

    def test_features_page_shows_an_entitys_features_and_tiles(self):
        item = "i1"
        for size in (DESKTOP, PHONE):
            self.browser.open(self.origin + f"/ui/features?kind=item&id={item}", size)
            rows = self.browser.wait_until("the feature table", """(() => {
              const rows = [...document.querySelectorAll('#lookup tbody tr')];
              return rows.length && rows.map(r => r.innerText);
            })()""")
            self.assertGreaterEqual(len(rows), 3, rows)
            tiles = self.browser.evaluate("""[...document.querySelectorAll('#lookup svg.tiles')].map(svg => {
              const width = svg.viewBox.baseVal.width;
              const bars = [...svg.querySelectorAll('rect.bar')];
              return {bars: bars.length, outside: bars.filter(b => Number(b.getAttribute('x')) + Number(b.getAttribute('width')) > width + 0.01).length};
            })""")
            self.assertGreater(sum(t["bars"] for t in tiles), 0, "windowed counts should show their tiles")
            self.assertEqual([t["outside"] for t in tiles], [0] * len(tiles), "every tile's bar inside its chart")
            self.browser.screenshot(f"features-{size[0]}.png")
            self.assert_charts("/ui/features", 1)
            self.assert_clean("/ui/features")

    def test_saved_report_opens_offline_with_the_same_charts(self):
        self.browser.open(self.origin + "/ui/models/ctr_ranker", DESKTOP)
        live = self.check_model_page("/ui/models/ctr_ranker")
        out = os.path.join(self.tmp, "report.html")
        subprocess.run([REPORT, "--url", self.origin, "--model", "ctr_ranker", "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        self.browser.open("file://" + out, DESKTOP, offline=True)
        saved = self.check_model_page("report.html")
        self.assertEqual(saved["svgs"], live["svgs"])
        self.assertEqual(saved["bars"], live["bars"])
        self.browser.screenshot("report-1280.png")
        self.assertEqual(self.browser.problems("file://"), [])
        self.browser.call("Network.emulateNetworkConditions", offline=False, latency=0, downloadThroughput=-1,
                          uploadThroughput=-1)

    def test_report_command_says_what_went_wrong(self):
        r = subprocess.run([REPORT, "--url", self.origin, "--model", "nope", "--out", os.path.join(self.tmp, "x.html")],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nope", r.stderr)
        r = subprocess.run([REPORT, "--url", f"http://127.0.0.1:{free_port()}", "--model", "ctr_ranker", "--out",
                            os.path.join(self.tmp, "x.html")], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is featmond running there", r.stderr)



@unittest.skipUnless(CHROMIUM, "chromium is not installed (scripts/dev.sh test installs it)")
class TokenTest(FeatmondAndBrowser):
    """A featmond with a bearer token: the pages open, ask for the token, keep
    it for the tab and draw once it is right; featmon-report passes it."""
    TOKEN = "pages-test-token-0123456789"

    @classmethod
    def setUpClass(cls):
        cls.start("kafka:\n  embedded_partitions: 1\nhttp:\n  bearer_token_env: FEATMON_PAGES_TOKEN\n",
                  env={"FEATMON_PAGES_TOKEN": cls.TOKEN})
        wait_for("featmond's HTTP port", lambda: get_json(cls.origin + "/healthz"), 60)
        cls.browser = Browser(os.path.join(cls.tmp, "chromium"))

    def submit_token(self, token):
        self.browser.evaluate(f"""(() => {{
          document.querySelector('main input[type=password]').value = {json.dumps(token)};
          document.querySelector('main form').requestSubmit();
        }})()""")

    def test_the_page_asks_for_the_token_and_draws_once_it_is_right(self):
        self.browser.open(self.origin + "/ui/", DESKTOP)
        ask = "(() => { const h = document.querySelector('main h1'); return h && h.textContent; })()"
        self.assertIn("asks for a token", self.browser.wait_until("the token form", ask))
        self.submit_token("wrong-token-wrong-token")
        time.sleep(0.5)
        self.assertIn("asks for a token", self.browser.wait_until("the token form again", ask))
        self.submit_token(self.TOKEN)
        ingest = self.browser.wait_until("the overview", """(() => {
          const t = document.querySelector('#ingest'); return t && t.innerText; })()""")
        self.assertIn("Consumer lag", ingest)
        self.assertIn("No model has been seen", self.browser.evaluate("document.querySelector('main').innerText"))
        self.assertEqual(self.browser.evaluate("sessionStorage.getItem('featmon-token')"), self.TOKEN)
        # The two refused tries are the only errors: the browser logs each 401.
        problems = [p for p in self.browser.problems(self.origin) if "status of 401" not in p]
        self.assertEqual(problems, [])

    def test_report_command_passes_the_token(self):
        out = os.path.join(self.tmp, "x.html")
        r = subprocess.run([REPORT, "--url", self.origin, "--model", "ctr_ranker", "--out", out],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--token-file", r.stderr)
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write(self.TOKEN + "\n")
        r = subprocess.run([REPORT, "--url", self.origin, "--model", "ctr_ranker", "--out", out, "--token-file",
                            token_file], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, "no model has been seen yet")
        self.assertIn("has not been seen", r.stderr)

if __name__ == "__main__":
    unittest.main(verbosity=2)
