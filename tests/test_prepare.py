"""prepare on real text, both tokenizers, and its refusals."""
import json

import numpy as np
import pytest

from moredata.data import prepare as prep
from moredata.data.tokenizers import tokenizer_from_dict


def _load(out_dir, split):
    meta = json.loads((out_dir / "meta.json").read_text())
    return np.fromfile(out_dir / f"{split}.bin", dtype=np.dtype(meta["dtype"]).newbyteorder("<")), meta


def test_char_prepare_matches_nanogpt_split(tmp_path, shakespeare_text):
    src = tmp_path / "input.txt"
    src.write_text(shakespeare_text, encoding="utf-8")
    meta = prep.prepare([src], tmp_path / "out")
    # nanoGPT's shakespeare_char/prepare.py prints these exact counts for tiny Shakespeare
    assert (meta["vocab_size"], meta["train_tokens"], meta["val_tokens"]) == (65, 1003854, 111540)
    val, meta = _load(tmp_path / "out", "val")
    assert meta["dtype"] == "uint16" and val.dtype.itemsize == 2
    tok = tokenizer_from_dict(json.loads((tmp_path / "out" / "tokenizer.json").read_text()))
    n = len(shakespeare_text)
    assert tok.decode(val) == shakespeare_text[int(n * 0.9):]


def test_bpe_prepare_round_trips(tmp_path, shakespeare_text):
    src = tmp_path / "input.txt"
    src.write_text(shakespeare_text[:300_000], encoding="utf-8")
    meta = prep.prepare([src], tmp_path / "bpe", tokenizer="bpe", vocab_size=1000)
    assert meta["tokenizer"] == "bpe" and meta["vocab_size"] <= 1000
    train, _ = _load(tmp_path / "bpe", "train")
    assert train.size < 0.6 * int(300_000 * 0.9)  # merges compress the text
    assert int(train.max()) < meta["vocab_size"]
    tok = tokenizer_from_dict(json.loads((tmp_path / "bpe" / "tokenizer.json").read_text()))
    assert tok.decode(train) == shakespeare_text[: int(300_000 * 0.9)]
    assert tok.decode(tok.encode("Zebras élan ☃\n")) == "Zebras élan ☃\n"  # bytes never go unknown


def test_uint32_when_vocab_is_large():
    from moredata.data.tokenizers import token_dtype

    assert token_dtype(65536) == np.uint16 and token_dtype(65537) == np.uint32


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"hello\x00world" * 100, "binary (NUL byte at offset 5)"),
    ("caf\u00e9 ".encode("latin-1") * 100, "not UTF-8 text (byte 0xe9 at offset 3)"),
])
def test_bad_input_refused(tmp_path, capsys, content, words):
    src = tmp_path / "in.txt"
    src.write_bytes(content)
    with pytest.raises(SystemExit) as e:
        prep.main([str(src), "--out_dir", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_too_short_for_block_size(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("To be, or not to be, that is the question.\n" * 5)
    with pytest.raises(SystemExit) as e:
        prep.main([str(src), "--out_dir", str(tmp_path / "out"), "--block_size", "64"])
    assert e.value.code == 2
    assert "corpus too short for block_size 64: the val split has 22 tokens, needs at least 65" in capsys.readouterr().err
    assert not (tmp_path / "out" / "train.bin").exists()
    prep.main([str(src), "--out_dir", str(tmp_path / "out"), "--block_size", "16"])  # fits a smaller context
    assert (tmp_path / "out" / "val.bin").stat().st_size == 22 * 2


def test_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        prep.main([str(tmp_path / "nope.txt"), "--out_dir", str(tmp_path)])
    assert "input file not found" in capsys.readouterr().err
