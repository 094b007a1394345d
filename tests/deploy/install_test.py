"""`cmake --install` and the systemd unit: the staged tree has what a packager
expects, `systemd-analyze verify` is clean on the unit, and the unit's command
line, with the installed config and systemd's directory variables, starts a
featmond that serves and stops cleanly on SIGTERM."""
import os
import re
import shlex
import subprocess
import tempfile
import unittest

from deploytest import BUILD, Featmond, free_port


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stage = cls.tmp.name + "/stage"
        subprocess.run(["cmake", "--install", BUILD], env={**os.environ, "DESTDIR": cls.stage},
                       check=True, capture_output=True)
        with open(BUILD + "/CMakeCache.txt") as f:
            cache = f.read()
        cls.prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M).group(1)
        unit_dir = re.search(r"^FEATMON_SYSTEMD_UNIT_DIR:STRING=(.*)$", cache, re.M).group(1)
        cls.unit_dir = unit_dir if unit_dir.startswith("/") else cls.prefix + "/" + unit_dir
        # GNUInstallDirs: the prefix /usr puts configuration in /etc, any other in <prefix>/etc.
        cls.etc = "/etc" if cls.prefix == "/usr" else cls.prefix + "/etc"
        with open(cls.stage + cls.unit_dir + "/featmond.service") as f:
            cls.unit = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def staged(self, path):
        return self.stage + path

    def test_binaries_unit_and_config_are_where_a_packager_expects_them(self):
        for tool in ("featmond", "featmon-gen", "featmon-broker"):
            self.assertTrue(os.access(self.staged(f"{self.prefix}/bin/{tool}"), os.X_OK), tool)
        self.assertTrue(os.path.isfile(self.staged(self.etc + "/featmon/featmon.yaml")))
        for example in ("prometheus/featmond.rules.yml", "alertmanager/alertmanager.yml",
                        "grafana/dashboards/featmon-model-health.json"):
            self.assertTrue(os.path.isfile(self.staged(f"{self.prefix}/share/doc/featmon/examples/{example}")), example)

    def test_unit_is_type_notify_hardened_and_runs_the_installed_binary(self):
        settings = {}
        for line in self.unit.splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
        self.assertEqual(settings["Type"], ["notify"])
        self.assertEqual(settings["Restart"], ["on-failure"])
        self.assertIn("WatchdogSec", settings)
        self.assertEqual(settings["StateDirectory"], ["featmon"])
        self.assertEqual(settings["ConfigurationDirectory"], ["featmon"])
        for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "SystemCallFilter",
                          "RestrictAddressFamilies", "CapabilityBoundingSet", "DynamicUser"):
            self.assertIn(hardening, settings)
        self.assertEqual(settings["ProtectSystem"], ["strict"])
        self.assertTrue(settings["ExecStart"][0].startswith(self.prefix + "/bin/featmond "))

    def test_systemd_analyze_verify_is_clean(self):
        # verify checks that ExecStart's binary exists, and ignores --root for
        # that; point a copy of the unit at the staged binary.
        unit = self.unit.replace(f"ExecStart={self.prefix}/bin/featmond",
                                 f"ExecStart={self.staged(self.prefix)}/bin/featmond")
        path = self.tmp.name + "/featmond.service"
        with open(path, "w") as f:
            f.write(unit)
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.strip(), "", "systemd-analyze verify printed warnings")

    def test_the_units_command_line_starts_a_featmond_that_serves_and_stops_cleanly(self):
        # What systemd does: set the directory variables, run ExecStart.
        state = self.tmp.name + "/var-lib-featmon"
        os.makedirs(state)
        env = {**os.environ, "STATE_DIRECTORY": state, "CONFIGURATION_DIRECTORY": self.staged(self.etc + "/featmon")}
        exec_start = re.search(r"^ExecStart=(.*)$", self.unit, re.M).group(1)
        argv = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a) for a in shlex.split(exec_start)]
        argv[0] = self.staged(argv[0])
        port = free_port()
        # The installed config names a broker that does not exist here; the
        # embedded one stands in, and the port is the test's.
        with Featmond(argv + ["--embedded-kafka", "--http-listen", f"127.0.0.1:{port}"],
                      self.tmp.name + "/featmond.log", env) as featmond:
            self.assertTrue(featmond.serves(port), "featmond did not serve")
            self.assertTrue(os.path.exists(state + "/data/CURRENT"), "RocksDB is not in the state directory")
            self.assertEqual(featmond.stop(), 0)

if __name__ == "__main__":
    unittest.main()
