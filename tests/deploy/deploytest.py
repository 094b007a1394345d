"""Shared helpers of the deployment tests: where the build is, free ports,
plain HTTP, polling. Only the standard library and PyYAML (python3-yaml)."""
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

SOURCE = os.environ.get("FEATMON_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BUILD = os.environ.get("FEATMON_BUILD_DIR", os.path.join(SOURCE, "build"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, host="127.0.0.1", timeout=5):
    """(status, body) of GET http://host:port/path; (0, error) when unreachable."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, urllib.error.URLError) as e:
        return 0, str(e)


def http_json(port, path, **kwargs):
    status, body = http_get(port, path, **kwargs)
    return json.loads(body) if status == 200 else None


def wait_for(pred, timeout_s, every_s=0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every_s)
    return pred()


class Featmond:
    """A featmond process started the way a deployment starts it, its output in
    log_path. Use as a context manager: leaving it kills a process still running."""

    def __init__(self, argv, log_path, env=None):
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def serves(self, port, paths=("/healthz",), timeout_s=40):
        """True once every path answers 200; False if featmond exited or the time ran out."""
        answered = wait_for(lambda: self.proc.poll() is not None or
                            all(http_get(port, p)[0] == 200 for p in paths), timeout_s)
        return answered and self.proc.poll() is None

    def stop(self, timeout_s=60):
        """SIGTERM, then the exit code (None if it did not exit in time)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def log_lines(self):
        self._log.flush()
        with open(self.log_path) as f:
            return f.read().splitlines()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if exc[0] is not None:
            print("\n".join(self.log_lines()[-30:]))
        self._log.close()
