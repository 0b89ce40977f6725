"""Issue 11, item 20: no run data or secrets in git, and the RAG service never writes into the checkout."""
import subprocess

from conftest import ROOT

from services.rag.settings import RagSettings


def test_no_store_or_env_file_is_tracked_and_both_are_ignored():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [p for p in tracked if p == ".env" or p.startswith("rag_store/") or p.endswith(".sqlite")]
    for path in (".env", "rag_store/store.sqlite", "rag_store/vectors/x.npy"):
        r = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert r.returncode == 0, f"{path} is not ignored"


def test_the_rag_store_defaults_to_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    from services.rag.settings import default_store_dir

    assert default_store_dir() == str(tmp_path / "moredata" / "rag_store")
    store = RagSettings().store_dir
    assert not store.startswith(str(ROOT)) and not store.startswith("rag_store")
