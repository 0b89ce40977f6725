"""`moredata-rag` as a process: --help, a bad flag (exit 2, one line), and SIGTERM -> graceful exit 0."""
from __future__ import annotations

import signal
import subprocess
import sys

import httpx
from conftest import ROOT, free_port, wait_until


def _run(*args):
    return subprocess.run([sys.executable, "-m", "services.rag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_help_and_bad_flags():
    r = _run("--help")
    assert r.returncode == 0 and "RAG_API_TOKEN" in r.stdout
    r = _run("--bogus=1")
    assert r.returncode == 2 and "unknown setting 'bogus'" in r.stderr and "Traceback" not in r.stderr
    r = _run("--port=70000")
    assert r.returncode == 2 and "port" in r.stderr


def test_sigterm_is_a_clean_exit(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.rag", f"--port={port}", "--embedder=hashing",
                             f"--store_dir={tmp_path}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)

    def up():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_until(up, 60)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        proc.kill()
