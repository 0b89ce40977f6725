"""An API fuzz run: schemathesis generates requests from the OpenAPI schema against a real `moredata-rag`
process (hashing embedder, a real store, a small GPT), and no response may be a 5xx."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import schemathesis
from conftest import ROOT, free_port, tiny_flags, wait_until
from hypothesis import HealthCheck, given, settings


@pytest.fixture(scope="module")
def rag_url(char_data, tmp_path_factory):
    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    out = tmp_path_factory.mktemp("fuzz_gpt") / "run"
    TrainingLoop(load_settings(tiny_flags(char_data, out, max_iters=10, eval_interval=10, plot=False,
                                     block_size=64))).run()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.rag", f"--port={port}", "--embedder=hashing",
                             f"--store_dir={tmp_path_factory.mktemp('fuzz_store')}", f"--checkpoint={out / 'best.pt'}",
                             "--max_new_tokens=64"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{url}/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_until(up, 60), proc.stderr.read() if proc.poll() is not None else "not ready"
        httpx.post(f"{url}/documents", json={"doc_id": "readme", "text": (ROOT / "README.md").read_text(),
                                             "split": {"method": "semantic"}}).raise_for_status()
        yield url
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]  # nothing blew up inside the server either


def test_no_server_errors(rag_url):
    """Every operation of the schema, 25 generated requests each (schemathesis' strategies driven by
    hypothesis directly: its pytest plugin does not run under this pytest version)."""
    schema = schemathesis.openapi.from_url(f"{rag_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/documents", "/query", "/generate", "/health"}
    seen = []
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(timeout=60)
            seen.append(response.status_code)
            assert response.status_code < 500, \
                f"{case.method} {case.path} -> {response.status_code}: {response.text[:500]}"

        run()
    assert len(seen) >= 4 * len(operations) and any(code < 300 for code in seen) and any(code >= 400 for code in seen)
