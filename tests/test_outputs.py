"""Output paths are checked before any work (issue 23: these were tracebacks, one after all the work was
done), and what a command writes gets the mode any new file gets (the extracted model was 0600)."""
from __future__ import annotations

import os
import stat

import pytest
import torch

from moredata.code.cli import main as code_main
from moredata.models.checkpoint import save_checkpoint
from moredata.models.decoder_only import GPT, GPTConfig
from moredata.models.extract import main as extract_main
from moredata.pointer.cli import main as pointer_main

ARGS = dict(n_layer=1, n_head=2, n_embd=16, block_size=8, bias=False, vocab_size=11, dropout=0.0)


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "best.pt"
    save_checkpoint(path, {"model": GPT(GPTConfig(**ARGS)).state_dict(), "model_args": ARGS, "iter_num": 1,
                           "best_val_loss": 1.0, "tokenizer": None})
    return path


def _one_line_exit_2(main, argv, capsys, words):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err


def test_code_build_into_an_existing_directory_is_refused_first(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "a.py").write_text("def add(a, b):\n    total = a + b\n    return total\n")
    out.mkdir()
    _one_line_exit_2(code_main, ["build-dataset", str(src), "--out", str(out), "--quiet"], capsys, "is a directory")
    assert list(out.iterdir()) == []


def test_make_sets_into_an_existing_file_is_refused_first(tmp_path, capsys):
    target = tmp_path / "sets"
    target.write_text("mine")
    _one_line_exit_2(pointer_main, ["make-sets", "--out", str(target)], capsys, "is a file")
    assert target.read_text() == "mine"


def test_extract_into_an_existing_file_is_refused(tmp_path, ckpt, capsys):
    target = tmp_path / "model"
    target.write_text("mine")
    _one_line_exit_2(extract_main, [str(ckpt), str(target)], capsys, "is a file")
    assert target.read_text() == "mine"


def test_the_extracted_model_gets_the_mode_of_any_new_file(tmp_path, ckpt):
    extract_main([str(ckpt), str(tmp_path / "out")])
    probe = tmp_path / "probe"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT, 0o666))  # what the umask gives a new file
    want = stat.S_IMODE(probe.stat().st_mode)
    for name in ("model.safetensors", "config.json"):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == want, name
