"""Atomic file writes: write a temp file beside the target, fsync it, rename over the target.

A reader sees the old file or the new one, never half of one, even if the writer is killed mid-write;
`os.replace` is atomic on POSIX within one filesystem, which is why the temp file lives in the same folder.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable, Iterator


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """`with atomic_open(p) as f: f.write(...)` publishes p only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL with a random name, as mkstemp does, but mode 0666 so the process umask applies as it would
    # for open(): the file gets the mode a plain write would give it (reading the umask would mean
    # setting it, a process-wide side effect a library must not have)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)  # make the rename itself durable


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    with atomic_open(path) as f:
        write(f)


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[None]:
    """One writer per output: an exclusive lock on `.<name>.lock` beside `path` (kept: a tiny empty file;
    removing it could let two runs hold locks on two different files), released when the block ends or
    the process dies. A second writer gets FailedPrecondition at once instead of appending to the same file."""
    import fcntl

    from moredata.errors import FailedPrecondition, InvalidArgument

    path = Path(check_output_file(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent / f".{path.name}.lock", os.O_WRONLY | os.O_CREAT, 0o666)
    except OSError as e:  # a read-only or special folder (/proc), no permission: the user's path, named
        raise InvalidArgument(f"cannot write {path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FailedPrecondition(f"another run is writing {path}: wait for it to finish (the same command "
                                     f"then resumes or says it is complete), or choose another output") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def check_output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """An output file path a command may write, checked before any work: not an existing directory, and
    its folder (created when missing) not a file. InvalidArgument naming the path."""
    from moredata.errors import InvalidArgument

    path = Path(path)
    if path.is_dir():
        raise InvalidArgument(f"{what} {path} is a directory: give a file name")
    _check_nearest_folder(path, what)
    return path


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """An output folder a command may write into, checked before any work: not an existing file."""
    from moredata.errors import InvalidArgument

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidArgument(f"{what} {path} is a file: give a folder (it is created when missing)")
    _check_nearest_folder(path, what)
    return path


def _check_nearest_folder(path: Path, what: str) -> None:
    """The nearest existing ancestor of path is a folder (the missing ones below it can be created)."""
    from moredata.errors import InvalidArgument

    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgument(f"{what} {path}: {parent} is a file, not a folder")
            return


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
