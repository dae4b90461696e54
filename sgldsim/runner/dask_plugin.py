"""Dask worker plugin limiting a worker's XLA and BLAS threads (imported only with dask)."""

from __future__ import annotations

import os

from distributed import WorkerPlugin


class LimitThreads(WorkerPlugin):
    """Puts ``limits`` (environment variables) into the worker's environment at its start:
    XLA flags are appended to those it has, other variables are set where unset."""

    name = "sgldsim-limit-threads"

    def __init__(self, limits: dict[str, str]):
        self.limits = dict(limits)

    def setup(self, worker):
        for name, value in self.limits.items():
            if name != "XLA_FLAGS":
                os.environ.setdefault(name, value)
            elif value not in os.environ.get(name, ""):
                os.environ[name] = f"{os.environ.get(name, '')} {value}".strip()
