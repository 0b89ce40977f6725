"""Chunked generation: exact counts, per-chunk seeds, worker-count independence, resume after a kill,
the CLI's subcommands and their errors, and every finished trace checked by the independent normaliser."""
import gzip
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, wait_until

from moredata.lambda_terms.cli import main
from moredata.lambda_terms.generate import GenerateJob, generate, progress_path
from moredata.lambda_terms.report import coverage
from moredata.lambda_terms.traces import TraceSettings, chunk_lines
from moredata.lambda_terms.verify import verify_file


def _lines(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return f.read().splitlines()


def test_chunks_have_distinct_seeds_and_are_reproducible():
    s = TraceSettings()
    a = chunk_lines(11, 0, 200, s)
    assert a == chunk_lines(11, 0, 200, s) and len(a) == 200
    assert a != chunk_lines(11, 1, 200, s) and a != chunk_lines(12, 0, 200, s)
    seeds = {int(np.random.SeedSequence([11, c]).generate_state(1)[0]) for c in range(10_000)}
    assert len(seeds) == 10_000
    metas = [json.loads(x)["meta"] for x in chunk_lines(11, 13, 300, s)]
    assert {m["cycle"] for m in metas} == {3} and {m["seed"] for m in metas} == {11}


def test_exact_count_of_a_100k_run_the_same_for_1_and_2_workers(tmp_path):
    one = generate(GenerateJob(out=tmp_path / "one.jsonl", count=100_000, seed=3, workers=1, progress=False))
    two = generate(GenerateJob(out=tmp_path / "two.jsonl", count=100_000, seed=3, workers=2, progress=False))
    assert one["examples"] == two["examples"] == 100_000
    a, b = _lines(tmp_path / "one.jsonl"), _lines(tmp_path / "two.jsonl")
    assert len(a) == 100_000 and a == b
    v = verify_file(tmp_path / "one.jsonl")
    assert v["checked"] > 1000 and v["mismatches"] == 0  # every finished trace ends in NbE's normal form
    # issue 24: every trace whole (0.7% were cut at chunk ends, saying `stopped: normal` without a normal
    # form and a total_steps larger than the file held), also across the run's last, shorter chunk
    cov = coverage(tmp_path / "one.jsonl")
    assert cov["broken_traces"] == 0 and cov["traces"] > 5000
    # and what the data is for, at this size: the users' failure modes are well represented
    assert cov["share_lambda_depth_ge11"] >= 0.2 and cov["share_redex_lambda_depth_ge5"] >= 0.25
    assert cov["share_size_120_200"] >= 0.25 and cov["share_growing_steps"] >= 0.12
    assert cov["share_distinct_pairs"] >= 0.97 and cov["share_traces_le1_step"] <= 0.02


def test_one_step_traces_at_max_steps_1_finish():
    # a trace cut at max_steps keeps its examples even when there is one: skipping them drew forever
    lines = chunk_lines(3, 0, 50, TraceSettings(max_steps=1))
    metas = [json.loads(x)["meta"] for x in lines]
    assert len(lines) == 50 and {m["total_steps"] for m in metas} == {1}


def test_the_whole_trace_check_finds_cut_and_mislabelled_traces(tmp_path):
    lines = chunk_lines(5, 3, 400, TraceSettings())
    metas = [json.loads(x)["meta"] for x in lines]
    starts = [i for i, m in enumerate(metas) if m["step"] == 0]
    assert len(starts) > 3
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines) + "\n")
    assert coverage(good)["broken_traces"] == 0
    cut = tmp_path / "cut.jsonl"  # the first trace's last example removed: what a split at a chunk end did
    cut.write_text("\n".join(lines[: starts[1] - 1] + lines[starts[1]:]) + "\n")
    assert coverage(cut)["broken_traces"] == 1
    head = tmp_path / "head.jsonl"  # a file that starts inside a trace
    head.write_text("\n".join(lines[1:]) + "\n")
    assert coverage(head)["broken_traces"] == 1


def test_odd_counts_gzip_and_dedup(tmp_path):
    s = generate(GenerateJob(out=tmp_path / "g.jsonl.gz", count=2_345, seed=1, chunk_size=500, progress=False))
    assert s["examples"] == 2_345 and len(_lines(tmp_path / "g.jsonl.gz")) == 2_345
    d = generate(GenerateJob(out=tmp_path / "d.jsonl", count=3_000, seed=1, chunk_size=500, dedup=True, progress=False))
    pairs = [(x["input"], x["target"]) for x in map(json.loads, _lines(tmp_path / "d.jsonl"))]
    assert d["examples"] == len(pairs) == 3_000 and len(set(pairs)) == 3_000


def test_resume_after_a_kill_gives_the_uninterrupted_file(tmp_path):
    out = tmp_path / "run.jsonl"
    cmd = [sys.executable, "-m", "moredata.lambda_terms.cli", "generate", str(out), "150000", "--seed", "9",
           "--chunk-size", "500"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prog = progress_path(out)
    deadline = time.time() + 120  # a ceiling; the wait is on chunks written
    while time.time() < deadline and proc.poll() is None:
        if prog.is_file() and json.loads(prog.read_text())["chunks_done"] >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = json.loads(prog.read_text())["chunks_done"]
    assert 20 <= done_before < 300
    with open(out, "ab") as f:
        f.write(b'{"input": "half a line')  # what a kill mid-write leaves
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    generate(GenerateJob(out=tmp_path / "straight.jsonl", count=150_000, seed=9, chunk_size=500, progress=False))
    assert out.read_bytes() == (tmp_path / "straight.jsonl").read_bytes()


def test_cli_subcommands(tmp_path, capsys):
    out = tmp_path / "t.jsonl"
    main(["generate", str(out), "5000", "--seed", "4", "--verify", "--depths", "6,8", "--sizes", "40,60"])
    text = capsys.readouterr().out
    assert "generated 5,000 examples" in text and "0 mismatches" in text
    metas = [json.loads(x)["meta"] for x in _lines(out)]
    assert {m["cycle"] for m in metas} == {0, 1}
    main(["coverage", str(out), "--png", str(tmp_path / "c.png"), "--json", str(tmp_path / "c.json")])
    cov = json.loads((tmp_path / "c.json").read_text())
    assert cov["examples"] == 5000 and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    # predictions: the truth for even lines, a wrong term for odd ones
    preds = tmp_path / "p.jsonl"
    rows = [json.loads(x) for x in _lines(out)[:400]]
    preds.write_text("\n".join(json.dumps({"input": r["input"], "target": r["target"],
                                           "prediction": r["target"] if i % 2 == 0 else "\\.0 0 0"})
                               for i, r in enumerate(rows)) + "\n")
    main(["diagnose", str(preds), "--json", str(tmp_path / "s.json")])
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores["overall"] == {"accuracy": 0.5, "n": 400}
    assert sum(scores[k]["n"] for k in ("size_lt20", "size_20_50", "size_50_80", "size_gt80")) == 400


@pytest.mark.parametrize("argv, words", [
    (["generate", "x.jsonl", "0"], "argument count: must be at least 1"),
    (["generate", "x.jsonl", "-5"], "argument count: must be at least 1"),
    (["generate", "x.jsonl", "ten"], "whole number"),
    (["generate", "x.jsonl", "10", "--depths", "6,7", "--sizes", "80"], "need the same length"),
    (["coverage", "/no/such/file.jsonl"], "no such file"),
    (["diagnose", "/no/such/file.jsonl"], "no such file"),
    (["step", "(\\.0"], "never closed"),
    (["step", "\\.5"], "is an open term"),  # issue 23: exited 0 with a trace of an open term
    (["coverage", "."], "is a directory"),  # said "no such file"
    (["diagnose", "."], "is a directory"),
    # issue 24: each a traceback or an exit 0 before
    (["generate", "x.jsonl", "10", "--config", "bad.toml"], "max_steps: Input should be a valid integer"),
    (["generate", "/proc/o.jsonl", "10"], "cannot write /proc/o.jsonl"),
    (["generate", "afile/o.jsonl", "10"], "afile is a file, not a folder"),
    (["generate", "x.jsonl", "10", "--seed", "-1"], "seed: Input should be greater than or equal to 0"),
    # every trace would stop before its first step: refused instead of drawing forever
    (["generate", "x.jsonl", "10", "--max-size", "50"], "max_size (50) must be at least the largest cycle"),
    (["step", "\\.0", "--max-steps", "-1"], "--max-steps: must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text('max_steps = "x"\n')
    (tmp_path / "afile").write_text("a file, not a folder\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err
    # nothing left behind: no output, progress or lock file to block the corrected rerun
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_existing_output_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "mine.jsonl"
    out.write_text("my data\n")
    with pytest.raises(SystemExit) as e:
        main(["generate", str(out), "10"])
    assert e.value.code == 2 and "exists" in capsys.readouterr().err and out.read_text() == "my data\n"


def test_ray_with_a_local_instance_writes_the_same_file(tmp_path):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s = generate(GenerateJob(out=tmp_path / "ray.jsonl", count=5_000, seed=21, chunk_size=500, ray="auto", progress=False))
    finally:
        ray.shutdown()
    generate(GenerateJob(out=tmp_path / "pool.jsonl", count=5_000, seed=21, chunk_size=500, workers=2, progress=False))
    assert s["examples"] == 5_000
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "pool.jsonl").read_bytes()


def test_a_second_run_on_the_same_output_refuses_at_once(tmp_path, capsys):
    """Issue 23: two `generate dup.jsonl.gz 30000 --seed 3` at once both exited 0 and the file ended with
    57,000 lines. The second now refuses with one line while the first holds the output."""
    out = tmp_path / "dup.jsonl.gz"
    first = subprocess.Popen([sys.executable, "-m", "moredata.lambda_terms.cli", "generate", str(out), "2000000",
                              "--seed", "3", "--chunk_size", "500"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: (tmp_path / "dup.jsonl.gz.progress.json").is_file(), 120)
        with pytest.raises(SystemExit) as e:
            main(["generate", str(out), "2000000", "--seed", "3", "--chunk_size", "500"])
        err = capsys.readouterr().err
        assert e.value.code == 2 and "another run is writing" in err and err.count("\n") == 1
    finally:
        first.kill()
        first.wait()
    # the first run's lock went with its process: the output is open again (here to the resume check,
    # which knows this is another job's unfinished run)
    with pytest.raises(SystemExit):
        main(["generate", str(out), "3000", "--seed", "3", "--chunk_size", "500"])
    assert "unfinished run of another job" in capsys.readouterr().err
