"""The data builders' option sets are pydantic models (moredata.options): each bound is checked when the
options are made, and a bad value names its dotted key, through a CLI as one line and exit code 2."""
from __future__ import annotations

import pickle

import pytest

from moredata.code.build import BuildOptions
from moredata.code.cli import main as code_main
from moredata.errors import InvalidArgument
from moredata.lambda_terms.cli import main as lambda_main
from moredata.lambda_terms.generate import GenerateJob
from moredata.lambda_terms.traces import TraceSettings


@pytest.mark.parametrize("make, key, words", [
    (lambda: BuildOptions(dedup={"threshold": 3}), "dedup.threshold", "less than or equal to 1 (got 3)"),
    (lambda: BuildOptions(dedup={"bands": 300}), "dedup", "bands must be at most num_perm (256), got 300"),
    (lambda: BuildOptions(max_per_language="lots"), "max_per_language", "'auto'"),
    (lambda: BuildOptions(augmentations=("shout",)), "augmentations", "unknown augmentations ['shout']"),
    (lambda: BuildOptions(split={"max_samples_per_file": 0}), "split.max_samples_per_file", "greater than or equal to 1"),
    (lambda: BuildOptions(workerz=2), "workerz", "Extra inputs are not permitted"),
    (lambda: GenerateJob(out="x.jsonl", count=0), "count", "greater than or equal to 1 (got 0)"),
    (lambda: GenerateJob(out="x.jsonl", count=5, seed=-1), "seed", "greater than or equal to 0 (got -1)"),
    (lambda: GenerateJob(out="x.jsonl", count=5, settings={"weights": {"random": -1}}), "settings.weights.random",
     "greater than or equal to 0"),
    (lambda: TraceSettings(depths=(6, 7), sizes=(80,)), "", "need the same length, got 2 and 1"),
])
def test_a_bad_option_names_its_key(make, key, words):
    with pytest.raises(InvalidArgument) as e:
        make()
    assert e.value.key == key and words in str(e.value)
    assert str(e.value).startswith(f"{key}: ") if key else ":" not in str(e.value)


def test_options_are_frozen_and_travel_to_worker_processes():
    opts = BuildOptions(seed=3, max_per_language="auto", dedup={"threshold": 0.8})
    with pytest.raises(ValueError):
        opts.seed = 4
    back = pickle.loads(pickle.dumps(opts))
    assert back == opts and back.dedup.threshold == 0.8 and hash(back) == hash(opts)
    assert TraceSettings().model_dump(mode="json")["depths"] == list(TraceSettings().depths)


@pytest.mark.parametrize("main, argv, words", [
    (code_main, ["build-dataset", "src", "--out", "o.jsonl", "--threshold=2"], "threshold: Input should be"),
    (lambda_main, ["generate", "o.jsonl", "10", "--max_steps=0"], "max_steps: Input should be greater"),
    (lambda_main, ["generate", "o.jsonl", "10", "--depths", "6,1", "--sizes", "80,90"], "max depth >= 2"),
])
def test_a_bad_option_on_a_command_line_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, main, argv, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and words in err and err.count("\n") == 1
    assert not (tmp_path / "o.jsonl").exists()
