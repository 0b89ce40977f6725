"""moredata-healthcheck, as the compose healthchecks call it: SERVING, alive-but-not-serving, nothing."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, free_port

from moredata.rpc.server import build_server


def _run(*args):
    return subprocess.run([sys.executable, "-m", "moredata.rpc.healthcheck", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_exit_codes_follow_the_health_status():
    handle = build_server([], ["moredata.test.v1.Probe"], address="127.0.0.1:0").start()
    address = f"127.0.0.1:{handle.port}"
    try:
        r = _run(address)
        assert r.returncode == 1 and "NOT_SERVING" in r.stdout
        assert _run(address, "--alive").returncode == 0
        handle.set_serving(True)
        r = _run(address)
        assert r.returncode == 0 and "SERVING" in r.stdout
        assert _run(address, "--service", "moredata.test.v1.Probe").returncode == 0
    finally:
        handle.stop(0)
    r = _run(f"127.0.0.1:{free_port()}", "--alive", "--timeout", "0.5")
    assert r.returncode == 1 and "no answer" in r.stdout
