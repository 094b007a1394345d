"""Shared helpers of the deployment tests: where the build is, free ports,
plain HTTP, polling. Only the standard library and PyYAML (python3-yaml)."""
import json
import os
import socket
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
