"""Each split method on real Markdown (the project's own docs) and prose; offsets always slice the source."""
from __future__ import annotations

import pytest
from conftest import ROOT

from moredata.rag.splitting import METHODS, split

README = (ROOT / "README.md").read_text(encoding="utf-8")
AUGMENT = (ROOT / "moredata" / "pointer" / "README.md").read_text(encoding="utf-8")
RST = """Installing Python Modules
*************************

As a popular open source development project, Python has an active supporting community.

Key terms
=========

* ``pip`` is the preferred installer program. Starting with Python 3.4, it is included by default.

* A *virtual environment* is a semi-isolated Python environment.

Basic usage
===========

The standard packaging tools are all designed to be used from the command line.

Installing into a venv
----------------------

Use ``python -m venv`` to create one.
"""


@pytest.mark.parametrize("method", METHODS)
def test_offsets_slice_the_source(method):
    chunks = split(README, method, pattern=r"\n#+ ", size=400, overlap=50)
    assert len(chunks) > 3
    for c in chunks:
        assert README[c.start:c.end] == c.text and c.text == c.text.strip() and c.text


def test_semantic_markdown_heading_paths():
    chunks = split(AUGMENT, "semantic")
    paths = [c.headings for c in chunks]
    assert ["augment: pointer-aware augmentation of audio-edit data", "The service"] in paths
    assert all(p[0].startswith("augment") for p in paths if p)
    # a "#" inside a fenced code block is not a heading
    assert not any("python" in h.lower() and "import" in h.lower() for p in paths for h in p)


def test_semantic_rst_levels():
    chunks = split(RST, "semantic")
    paths = [c.headings for c in chunks]
    assert ["Installing Python Modules", "Key terms"] in paths
    assert ["Installing Python Modules", "Basic usage", "Installing into a venv"] in paths


def test_sentences_keep_abbreviations_and_decimals():
    text = ("Dr. Smith measured 3.5 m. at noon. The results, e.g. the drag, were poor! Was it the wing? "
            "Prof. J. Doe et al. disagreed. Fig. 2 shows why.")
    got = [c.text for c in split(text, "sentence")]
    assert got == ["Dr. Smith measured 3.5 m. at noon.", "The results, e.g. the drag, were poor!", "Was it the wing?",
                   "Prof. J. Doe et al. disagreed.", "Fig. 2 shows why."]


def test_fixed_chunks_with_overlap_in_chars_and_tokens():
    chars = split(README, "chunk", size=300, overlap=60)
    assert max(len(c.text) for c in chars) <= 300
    assert chars[1].start < chars[0].end  # windows overlap
    tokens = split(README, "chunk", size=50, overlap=10, unit="token")
    assert max(len(c.text.split()) for c in tokens) <= 50
    with pytest.raises(ValueError, match="overlap"):
        split(README, "chunk", size=10, overlap=10)


def test_min_and_max_length():
    chunks = split(README, "paragraph", min_length=200, max_length=700)
    assert max(len(c.text) for c in chunks) <= 700
    # paragraphs of known sizes (words of 5 characters): short ones merge while the result fits
    paras = [("word " * n).strip() for n in (10, 12, 80, 5, 120, 8, 9, 60)]
    merged = split("\n\n".join(paras), "paragraph", min_length=200, max_length=700)
    # greedy, left to right: a chunk joins the one before while either is short and the join fits 700
    assert [c.text for c in merged] == ["\n\n".join(paras[:4]), "\n\n".join(paras[4:7]), paras[7]]
    for a, b in zip(merged, merged[1:]):  # a short chunk is left only where a join would pass max_length
        if len(a.text) < 200 or len(b.text) < 200:
            assert b.end - a.start > 700
    with pytest.raises(ValueError, match="min_length"):
        split(README, "paragraph", min_length=500, max_length=100)


def test_regex_is_validated_and_bounded():
    assert len(split(README, "regex", pattern=r"\n## ")) == README.count("\n## ") + 1
    with pytest.raises(ValueError, match="invalid regex"):
        split(README, "regex", pattern="(")
    with pytest.raises(ValueError, match="empty string"):
        split(README, "regex", pattern="x*")
    with pytest.raises(ValueError, match="catastrophic"):  # refused by the regex timeout, not hung
        split("a" * 60 + "b", "regex", pattern=r"(a|aa)+$")  # exponential backtracking
    with pytest.raises(ValueError, match="unknown split method"):
        split(README, "words")


@pytest.mark.timeout(300)  # a ceiling for a busy CI machine; the quadratic splitter needed hours for this
def test_sentence_split_of_a_10_mb_document_is_linear(shakespeare_text):
    """Issue 11, item 12: each sentence end used to search the whole text before it."""
    text = (shakespeare_text * (10_000_000 // len(shakespeare_text) + 1))[:10_000_000]
    chunks = split(text, "sentence")
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(not text[a.end:b.start].strip() for a, b in zip(chunks, chunks[1:]))  # only whitespace lost
    small = split(shakespeare_text[:50_000], "sentence")
    assert [c.text for c in chunks[: len(small) - 1]] == [c.text for c in small[:-1]]


N = 1_000_000
ADVERSARIAL = {
    "a run of letters": "a" * N,
    "a run of periods": "." * N,
    "a heading with a long space run": "# a" + " " * N + "x",
    "unclosed fences": "```\n# h\n" * (N // 8),
    "an underline-like line": "title\n" + "=" * N + "x",
    "headings in fences": "```\n" + "# h\n" * (N // 4) + "```\n" + "# real\nbody\n",
}


# a ceiling for a busy machine, not a timing: linear takes about a second here, the old quadratic
# patterns took 37 s at 200 KB, so 15 minutes and more at 1 MB
@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(ADVERSARIAL))
@pytest.mark.parametrize("method", ["paragraph", "sentence", "semantic"])
def test_built_in_splitters_are_linear_on_adversarial_text(case, method):
    text = ADVERSARIAL[case]
    chunks = split(text, method)
    assert all(text[c.start:c.end] == c.text for c in chunks)


def test_semantic_headings_keep_their_titles():
    chunks = split("# C# tips ##\nbody\n## Second #\nmore\n```\n# not a heading\n```\n", "semantic")
    assert [c.headings for c in chunks] == [["C# tips"], ["C# tips", "Second"]]
