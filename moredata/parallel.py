"""Connecting to Ray for the data builders' `--ray ADDRESS` (a cluster address, "auto" for the running one,
or "local" to start one in this process). The cluster's workers need this package installed, as they need
any task's code."""
from __future__ import annotations

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
