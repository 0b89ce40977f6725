"""The build-dataset pipeline on the real test files: skips counted by reason, every sample complete,
weights and balance by their formulas, reproducible under a seed and any worker count, the CLI's errors,
instruction templates, the weighted sampler, and Ray with a local instance."""
import json
import math
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from moredata.code.build import BuildOptions, balance, build_dataset
from moredata.code.instructions import InstructionBook, shipped_templates
from moredata.code.splitter import CodeSample
from moredata.data.weighted_sampling import WeightedRowSampler, read_weights
from moredata.errors import InvalidArgument

DATA = Path(__file__).parent / "data"
LANGS = {"python", "go", "rust", "java", "javascript", "typescript", "c", "cpp"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The real files plus one of each kind of bad file."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(DATA, root / "src", ignore=shutil.ignore_patterns("licenses"))
    bad = root / "src" / "bad"
    bad.mkdir()
    (bad / "binary.c").write_bytes(b"int x;\0\x01\x02" * 100)
    (bad / "latin1.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    (bad / "huge.js").write_text("var a = 1;\n" * 200_000)  # 2.2 MB
    (bad / "minified.js").write_text("var a=1;" * 500 + "\n")  # one 4000-character line
    (bad / "empty.go").write_text("\n\n")
    return root / "src"


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "samples.jsonl"
    rows, summary = build_dataset([str(corpus)], str(out), BuildOptions(seed=5, progress=False, max_file_bytes=1_000_000))
    return out, rows, summary


def test_bad_files_are_skipped_and_counted_by_reason(built):
    _, _, s = built
    assert s["files_skipped"] == {"binary": 1, "undecodable": 1, "too_large": 1, "minified": 1, "empty": 1,
                                  "unsupported": 1}  # README.md
    assert s["files_read"] == 10


def test_every_sample_is_complete_and_weighted_by_the_formula(built):
    out, rows, s = built
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines == rows and len(rows) == s["samples"] > 100
    assert {r["language"] for r in rows} == LANGS
    for r in rows:
        assert r["instruction"] and r["completion"] and r["task"] and r["path"] and r["start_line"] >= 1
        assert 0.0 < r["quality"] <= 1.0 and r["weight"] == pytest.approx(math.exp(5 * (r["quality"] - 0.7)), abs=1e-6)
        assert "_unit_text" not in r and "unit" in r["meta"]
    kinds = Counter(r["kind"] for r in rows)
    for k in ("function", "class", "docstring", "strip_comments", "plant_bug", "rename", "explain",
              "implement_from_spec"):
        assert kinds[k] > 0, k
    assert s["kinds"] == dict(sorted(kinds.items()))
    assert s["mean_quality"] == pytest.approx(np.mean([r["quality"] for r in rows]), abs=1e-4)


def test_same_seed_same_file_whatever_the_worker_count(corpus, built, tmp_path):
    out, _, _ = built
    again = tmp_path / "again.jsonl"
    build_dataset([str(corpus)], str(again), BuildOptions(seed=5, progress=False, workers=2, files_per_task=3))
    assert again.read_bytes() == out.read_bytes()
    other = tmp_path / "other.jsonl"
    build_dataset([str(corpus)], str(other), BuildOptions(seed=6, progress=False))
    assert other.read_bytes() != out.read_bytes()  # the seed picks templates, bugs and names


def test_balance_caps_each_language_best_quality_first():
    langs = ["py"] * 6 + ["go"] * 2 + ["rs"]
    q = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.8, 0.2, 0.4, 0.6])
    keep, cap = balance(langs, q, 3)
    assert cap == 3 and keep.tolist() == [False, True, False, True, False, True, True, True, True]
    keep, cap = balance(langs, q, "auto")  # 2x the median count (2)
    assert cap == 4 and keep[:6].sum() == 4 and keep[6:].all()
    assert balance(langs, q, 0)[0].all()


def test_a_language_cap_in_the_pipeline(corpus, tmp_path):
    _, s = build_dataset([str(corpus)], None, BuildOptions(seed=5, progress=False, max_per_language=20))
    assert max(s["languages_after_balance"].values()) == 20
    for lang, n in s["languages_before_balance"].items():
        assert s["languages_after_balance"][lang] == min(n, 20)


def test_templates_are_many_grouped_and_reproducible(tmp_path):
    t = shipped_templates()
    assert sum(len(v) for v in t.values()) >= 50
    assert set(t) == {"function", "class", "docstring", "fallback", "strip_comments", "strip_type_hints",
                      "add_type_hints", "plant_bug", "implement_from_spec", "doctest_tests", "explain"}
    s = CodeSample("function", "go", "a.go", 3, 9, "Grow", "ctx", "body", task="function_completion")
    book = InstructionBook()
    assert book.instruction(s, 1) == book.instruction(s, 1)
    assert len({book.instruction(s, seed) for seed in range(40)}) > 3
    assert all("Grow" in book.instruction(s, seed) or "Go" in book.instruction(s, seed) for seed in range(40))
    user = tmp_path / "t.json"
    user.write_text(json.dumps({"function": ["MINE: {name} in {language}"], "plant_bug": ["Fix {name}."]}))
    mine = InstructionBook.with_user_file(str(user))
    assert len(mine) == len(book) + 2 and "MINE: Grow in Go" in {mine.instruction(s, k) for k in range(200)}
    user.write_text(json.dumps({"plant_bug": ["Fix {nme}"]}))
    with pytest.raises(InvalidArgument, match="nme"):
        InstructionBook.with_user_file(str(user))


def test_the_weighted_sampler_draws_in_proportion(built):
    out, rows, _ = built
    w = read_weights(str(out))
    assert w.shape == (len(rows),)
    sampler = WeightedRowSampler(torch.tensor([1.0, 2.0, 7.0]))
    draws = sampler.sample(100_000, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=3).double() / 100_000
    assert torch.allclose(freq, torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64), atol=0.01)
    with pytest.raises(ValueError):
        WeightedRowSampler([0.0, 0.0])


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "moredata.code.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_builds_and_prints_the_summary(corpus, tmp_path):
    out = tmp_path / "cli.jsonl.gz"
    r = run_cli("build-dataset", str(corpus), "--out", str(out), "--quiet", "--summary-json", str(tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr
    assert "samples written" in r.stdout and "near duplicates" in r.stdout and "skipped: binary" in r.stdout
    import gzip

    n = sum(1 for _ in gzip.open(out, "rt"))
    assert n == json.loads((tmp_path / "s.json").read_text())["samples"] > 100


@pytest.mark.parametrize("args, words", [
    (["build-dataset", "/no/such/dir", "--out", "x.jsonl"], "does not exist"),
    (["build-dataset", ".", "--out", "x.jsonl", "--max-per-language", "lots"], "expected a count or 'auto'"),
    (["build-dataset", ".", "--out", "x.jsonl", "--augment", "shuffle"], "unknown augmentations"),
    (["build-dataset", ".", "--out", "x.jsonl", "--benchmark", "/no/bench.jsonl"], "cannot read benchmark"),
    (["build-dataset", ".", "--out", "x.jsonl", "--threshold", "1.5"], "threshold"),
    (["split", "/no/such/file.py"], "skipped (unreadable)"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    r = run_cli(*args)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_help():
    r = run_cli("build-dataset", "--help")
    assert r.returncode == 0 and "--max-per-language" in r.stdout and "--ray" in r.stdout


def test_ray_with_a_local_instance_gives_the_same_samples(corpus, built, tmp_path):
    import ray

    out, _, _ = built
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows, s = build_dataset([str(corpus)], str(tmp_path / "ray.jsonl"),
                                BuildOptions(seed=5, progress=False, ray="auto", files_per_task=4))
    finally:
        ray.shutdown()
    assert (tmp_path / "ray.jsonl").read_bytes() == out.read_bytes()
    assert s["lsh"]["candidate_pairs"] >= s["lsh"]["verified_pairs"]
