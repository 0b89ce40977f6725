"""Trainer settings: precedence, shipped configs, and errors that name the key."""
import re
from pathlib import Path

import pytest

from moredata.errors import UserError
from moredata.training.config import TrainerSettings, load_settings
from services.trainer import cli


def test_defaults_are_nanogpts():
    cfg = TrainerSettings()
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size) == (12, 12, 768, 1024)
    assert (cfg.learning_rate, cfg.beta2, cfg.weight_decay, cfg.grad_clip) == (6e-4, 0.95, 0.1, 1.0)
    assert cfg.early_stopping_patience == 0 and cfg.early_stopping_monitor == "val"


def test_shipped_config_then_overrides(tmp_path):
    cfg = load_settings(["shakespeare_char_cpu", "--max_iters=7", "--dropout=0.1", "--compile=False"])
    assert cfg.n_embd == 128 and cfg.block_size == 64 and cfg.batch_size == 12  # from the file
    assert cfg.max_iters == 7 and cfg.dropout == 0.1 and cfg.compile is False  # flags win
    own = tmp_path / "mine.toml"
    own.write_text('n_layer = 3\nout_dir = "x"\n')
    cfg = load_settings(["shakespeare_char", str(own)])
    assert cfg.n_layer == 3 and cfg.n_embd == 384 and cfg.out_dir == "x"  # later file wins


def test_env_overrides_files_and_flags_override_env(monkeypatch):
    monkeypatch.setenv("TRAINER_BATCH_SIZE", "5")
    monkeypatch.setenv("TRAINER_SEED", "7")
    cfg = load_settings(["shakespeare_char_cpu"])
    assert cfg.batch_size == 5 and cfg.seed == 7  # the file says batch_size 12
    assert load_settings(["shakespeare_char_cpu", "--batch_size=3"]).batch_size == 3


def test_a_bad_env_value_is_refused_even_where_a_file_sets_the_key(monkeypatch):
    """TRAINER_MAX_ITERS=abc used to be ignored silently because the config file set max_iters."""
    monkeypatch.setenv("TRAINER_MAX_ITERS", "abc")
    with pytest.raises(UserError, match="environment variable TRAINER_MAX_ITERS: key 'max_iters'"):
        load_settings(["shakespeare_char_cpu"])


def test_help_and_config_errors_do_not_import_torch():
    """Settings modules stay free of torch: --help and a config error answer without loading it."""
    import subprocess
    import sys

    code = ("import sys\nfrom services.trainer.cli import main\n"
            "try:\n    main(['--bogus=1'])\nexcept SystemExit as e:\n    assert e.code == 2\n"
            "main(['--help'])\nassert 'torch' not in sys.modules, 'torch was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr
    assert "unknown config key 'bogus'" in proc.stderr and "usage: moredata-train" in proc.stdout


@pytest.mark.parametrize("argv, words", [
    (["--batch_sise=4"], ["unknown config key 'batch_sise'", "batch_size"]),
    (["--batch_size=abc"], ["'batch_size'", "integer"]),
    (["--batch_size=0"], ["'batch_size'", "greater than or equal to 1"]),
    (["--dropout=1.5"], ["'dropout'"]),
    (["--compile=maybe"], ["'compile'", "boolean"]),
    (["--device=tpu"], ["'device'"]),
    (["--early_stopping_monitor=test"], ["'early_stopping_monitor'"]),
    (["--n_embd=100", "--n_head=3"], ["n_embd (100) must be divisible by n_head (3)"]),
    (["--max_iters"], ["--max_iters needs a value"]),
    (["--max_iters", "--batch_size=2"], ["--max_iters needs a value"]),
    (["no_such_config"], ["config file not found", "shakespeare_char_cpu"]),
])
def test_bad_settings_name_the_key(argv, words):
    with pytest.raises(UserError) as e:
        load_settings(argv)
    for w in words:
        assert w in str(e.value)


def test_every_flag_spelling_of_the_convention_sets_the_key():
    """One convention for every console script: `--key=value` and `--key value`, snake or kebab case."""
    for argv in (["--max_iters=7"], ["--max_iters", "7"], ["--max-iters=7"], ["--max-iters", "7"]):
        assert load_settings(argv, environ={}).max_iters == 7, argv
    cfg = load_settings(["--warmup-iters", "3", "shakespeare_char_cpu", "--learning_rate", "2e-3"], environ={})
    assert (cfg.warmup_iters, cfg.learning_rate, cfg.device) == (3, 2e-3, "cpu")


@pytest.mark.parametrize("argv, words", [
    (["--redis-url", "redis://h:1/0", "--max_workers=3"], None),
    (["--redis_url=redis://h:1/0", "--max-workers", "3"], None),
    (["--max_workers"], "--max_workers needs a value"),
    (["--max_worker=3"], "unknown setting 'max_worker' (did you mean 'max_workers'?)"),
    (["redis://h:1/0"], "unexpected argument 'redis://h:1/0'"),
])
def test_a_service_reads_its_flags_the_same_way(argv, words):
    from services.generator.settings import GeneratorSettings

    if words is None:
        s = GeneratorSettings.from_flags(argv)
        assert (s.redis_url, s.max_workers) == ("redis://h:1/0", 3)
    else:
        with pytest.raises(UserError, match=re.escape(words)):
            GeneratorSettings.from_flags(argv)


def test_unknown_key_in_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("learning_rat = 0.1\n")
    with pytest.raises(UserError, match="unknown config key 'learning_rat'.*learning_rate"):
        load_settings([str(f)])
    f.write_text("learning_rate = [1\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings([str(f)])


def test_cli_exit_code_2_and_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--batch_size=abc"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config key 'batch_size'") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_help_lists_every_key(capsys):
    cli.main(["--help"])
    out = capsys.readouterr().out
    for key in TrainerSettings.model_fields:
        assert f"--{key}=" in out
    assert "shakespeare_char_cpu" in out


def test_missing_data_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([f"--data_dir={tmp_path}", f"--out_dir={tmp_path / 'o'}", "--device=cpu"])
    assert e.value.code == 2
    assert "moredata-prepare" in capsys.readouterr().err
    assert not Path(tmp_path / "o" / "ckpt.pt").exists()
