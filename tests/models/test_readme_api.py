"""The README's "Train in Python" section runs as written: every python block, in order, in one namespace
(the first one smaller: it trains 10 epochs on 2,000 texts as written)."""
import re

import torch
from conftest import ROOT

TEXT = ROOT / "data" / "tinyshakespeare" / "input.txt"


def _blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"### Train in Python\n(.*?)\n### ", readme, re.S).group(1)
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_every_train_in_python_block_runs(tmp_path, monkeypatch):
    blocks = _blocks()
    assert len(blocks) >= 7  # the basic run, then one per feature group
    monkeypatch.chdir(tmp_path)
    first = blocks[0].replace("epochs=10", "epochs=1").replace("[:2000]", "[:200]").replace(
        '"data/tinyshakespeare/input.txt"', repr(str(TEXT)))
    namespace = {}
    for i, code in enumerate([first, *blocks[1:]]):
        exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        if i == 0:
            assert namespace["results"]["epochs_completed"] == 1
            assert (tmp_path / "models" / "shakespeare-encoder" / "model.safetensors").is_file()
        if i == 1:  # metrics: compute_metrics in every evaluation, best weights loaded, resume on the same model
            assert "val_accuracy" in namespace["results"]["evals"][-1]
            assert set(namespace["trainer"].evaluate()) == {"loss", "masked_acc", "accuracy"}
            prediction = namespace["prediction"]
            assert prediction.predictions.shape[:2] == prediction.label_ids.shape
            assert namespace["results"]["iterations"] == 3 * len(namespace["train_dl"])
        if i == 2:  # steps: accumulation halves the steps, only the newest two step checkpoints stay
            steps = len(namespace["train_dl"]) // 2
            assert namespace["results"]["iterations"] == steps
            kept = sorted(p.name for p in (tmp_path / "runs" / "api-steps").glob("checkpoint-*.pt"))
            assert len(kept) == min(2, steps // 5)
    gpt, hf, prompt = namespace["gpt"], namespace["hf"], namespace["prompt"]
    with torch.no_grad():
        ours = gpt(prompt, prompt)[0]
        theirs = hf(prompt).logits
    assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()
