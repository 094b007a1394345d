"""The Dockerfile, without a Docker engine (none runs here): both stages are
bookworm-slim, the build stage runs the README's build, the runtime stage
installs every package that owns a shared library featmond links, runs as a
non-root user and starts featmond with flags it accepts."""
import json
import os
import re
import subprocess
import unittest

from deploytest import BUILD, SOURCE


def dockerfile():
    with open(os.path.join(SOURCE, "deploy", "Dockerfile")) as f:
        text = f.read()
    return re.sub(r"\\\n", " ", text)  # join continued lines


def owning_package(path):
    for candidate in (path, os.path.realpath(path), re.sub(r"^/usr", "", path), "/usr" + path):
        r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    return None


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.text = dockerfile()
        self.stages = re.split(r"^FROM ", self.text, flags=re.M)[1:]

    def test_two_bookworm_slim_stages_building_as_the_readme_does(self):
        self.assertEqual(len(self.stages), 2)
        for stage in self.stages:
            self.assertTrue(stage.startswith("debian:bookworm-slim"), stage[:40])
        self.assertIn("scripts/dev.sh build", self.stages[0])
        self.assertIn("cmake --install", self.stages[0])

    def test_runtime_installs_every_package_featmond_links(self):
        runtime = self.stages[1]
        installed = set(re.search(r"--no-install-recommends\s+([^&]+)&&", runtime).group(1).split())
        ldd = subprocess.run(["ldd", os.path.join(BUILD, "daemon", "featmond")], capture_output=True, text=True,
                             check=True).stdout
        needed = set()
        for lib in re.findall(r"=> (\S+)", ldd):
            package = owning_package(lib)
            self.assertIsNotNone(package, lib)
            needed.add(package.split(":")[0])
        # apt brings the listed packages with everything they depend on.
        closure = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                                  "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + sorted(installed),
                                 capture_output=True, text=True, check=True).stdout
        brought = {re.sub(r"[<>:].*", "", line.split()[-1]) for line in closure.splitlines() if line.strip()}
        self.assertEqual(needed - brought, set(), "the runtime stage misses these")
        self.assertFalse({p for p in installed if p.endswith("-dev") or p in ("g++", "cmake")},
                         "no build tools in the runtime image")

    def test_runs_as_a_non_root_user_with_flags_featmond_accepts(self):
        runtime = self.stages[1]
        user = re.search(r"^USER (\S+)", runtime, re.M).group(1)
        self.assertNotIn(user.split(":")[0], ("0", "root"))
        entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", runtime, re.M).group(1))
        cmd = json.loads(re.search(r"^CMD (.+)$", runtime, re.M).group(1))
        self.assertEqual(entrypoint, ["/usr/bin/featmond"])
        help_text = subprocess.run([os.path.join(BUILD, "daemon", "featmond"), "--help"], capture_output=True,
                                   text=True).stdout
        for arg in cmd:
            self.assertIn(arg.split("=")[0], help_text, arg)
        port = re.search(r"^EXPOSE (\d+)", runtime, re.M).group(1)
        self.assertIn(f"--http-listen=0.0.0.0:{port}", cmd)


if __name__ == "__main__":
    unittest.main()
