"""The one chunk executor of the data builders (lambda traces, code data): the same picklable function over
chunks of work, inline (one worker), in a local process pool, or as tasks on a Ray cluster.

    with ChunkExecutor(workers=4, ray=None) as ex:
        for result in ex.map(work, chunks):              # in chunk order
            ...
        for result in ex.map(work, chunks, ordered=False):  # as they finish

`ray`: a cluster address, "auto" for the running one, or "local" to start one in this process. The
cluster's workers need this package installed, as they need any task's code. The pool uses `spawn`
(no fork of a process holding threads or a torch runtime).
"""
from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator

from moredata.errors import FailedPrecondition


def ray_connected(address: str):
    """The `ray` module, initialised for `address` (once per process)."""
    try:
        import ray
    except ImportError:
        raise FailedPrecondition("--ray needs the ray package: pip install 'moredata[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False)
    return ray


class ChunkExecutor:
    def __init__(self, workers: int = 1, ray: str | None = None):
        self.workers, self.ray = workers, ray
        self._pool = None

    def __enter__(self) -> ChunkExecutor:
        if self.ray is None and self.workers > 1:
            self._pool = mp.get_context("spawn").Pool(self.workers)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:  # a caller may stop reading early: unfinished chunks are not waited for
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def map(self, fn: Callable, items: Iterable, ordered: bool = True) -> Iterator:
        """fn(item) for each item; in item order, or as they finish with ordered=False."""
        if self.ray is not None:
            return self._ray_map(fn, list(items), ordered)
        if self._pool is not None:
            return self._pool.imap(fn, items) if ordered else self._pool.imap_unordered(fn, items)
        return map(fn, items)

    def _ray_map(self, fn: Callable, items: list, ordered: bool) -> Iterator:
        ray = ray_connected(self.ray)
        task = ray.remote(fn)
        pending = [task.remote(item) for item in items]
        if ordered:
            for ref in pending:
                yield ray.get(ref)
            return
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
