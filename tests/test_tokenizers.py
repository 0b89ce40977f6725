"""Tokenizers: what train.bin holds (encode_array) must be what sampling, RAG prompts and generator
prefixes see (encode), on real indented code and real prose."""
from pathlib import Path

import numpy as np

from moredata.data import tokenizers
from moredata.data.tokenizers import BPETokenizer

ROOT = Path(__file__).resolve().parents[1]


def _code_text() -> str:
    """The project's own Python sources: indented code with blank lines and comments."""
    files = sorted((ROOT / "moredata").rglob("*.py"))
    return "".join(p.read_text(encoding="utf-8") for p in files if "proto" not in p.parts)[:300_000]


def test_encode_array_equals_encode_on_indented_code_and_prose(shakespeare_text, monkeypatch):
    code = _code_text()
    prose = shakespeare_text[:100_000]
    tok = BPETokenizer.train([code, prose], vocab_size=1024)
    # a newline merged with the next line's indentation is a token of its own in a code BPE
    assert any(s.startswith("Ċ") and s.endswith("Ġ") and len(s) > 2 for s in tok._tok.get_vocab())
    monkeypatch.setattr(tokenizers, "_PIECE_CHARS", 997, raising=False)  # many pieces, cut at odd places
    for text in (code, prose, "  leading spaces\n\n\n    x = 1\n\ttab\r\n  end  ", ""):
        np.testing.assert_array_equal(tok.encode_array(text), np.asarray(tok.encode(text), dtype=np.int64))
