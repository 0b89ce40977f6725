"""The augment README's Python snippets run as written (library, client of a real service, training loop)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

from conftest import ROOT, free_port

README = ROOT / "moredata" / "pointer" / "README.md"


def test_readme_snippets_run(tmp_path, speech_wavs, sample_dir):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 3, "library, client and training snippets"
    port = free_port()
    script = "\n".join(blocks).replace("127.0.0.1:50052", f"127.0.0.1:{port}")
    (tmp_path / "snippets.py").write_text(script)
    shutil.copy(speech_wavs[0], tmp_path / "speech.wav")
    shutil.copytree(sample_dir, tmp_path / "samples")
    server = subprocess.Popen([sys.executable, "-m", "services.augment", f"--address=127.0.0.1:{port}"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run([sys.executable, "snippets.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    assert "chunk_shuffle" in r.stdout and "(80, " in r.stdout
