"""The Dask executor: chunks of cells as tasks on a ``dask.distributed`` cluster.

:class:`DaskExecutor` implements the runner's executor protocol (see ``_executors``): it submits
one task per chunk, each a call of the runner's task (a :class:`~sgldsim.experiments.ChunkTask`,
the same code that computes a chunk serially, wrapped to time itself), and yields
``(chunk index, result)`` as tasks finish, so the runner checkpoints every finished chunk at
once, whatever the order. Only the driver (the process that
calls :func:`~sgldsim.experiments.run_experiment`) writes the run folder: workers need sgldsim
installed, not a shared file system. A task whose worker dies is rescheduled by the scheduler
(up to ``distributed.scheduler.allowed-failures`` times, default 3); a task that raises is
retried ``retries`` times.

Thread limits: a worker with t threads runs t chunks at once, so each chunk's XLA and BLAS get
one thread (:data:`THREAD_LIMITS`): N single-threaded workers on N cores do not oversubscribe.
:func:`local_cluster` sets these variables in its worker processes before they import JAX; on
other clusters :class:`DaskExecutor` registers a worker plugin
(``sgldsim.runner.dask_plugin.LimitThreads``) which sets them at worker
start (effective where JAX and BLAS are not yet loaded in the worker; to be sure, export them in
the worker's job script, as the SLURM example of docs/running.md does).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from .config import ConfigError

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

CONNECT_TIMEOUT_S = 5
THREAD_LIMITS = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Environment of a worker process: one XLA:CPU and BLAS thread per chunk."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("the Dask executor needs dask.distributed; install it with "
                          "pip install 'sgldsim[distributed]'") from None
    return distributed


class DaskExecutor:
    """Runs chunks as tasks of a ``dask.distributed.Client``; yields results as they finish.

    Args:
      client: a connected ``distributed.Client`` (a ``LocalCluster``, ``dask scheduler`` /
        ``dask worker`` processes, or a dask-jobqueue cluster).
      retries: extra attempts of a task that raised (a dead worker's task is rescheduled by the
        scheduler, up to its allowed-failures).
    """

    def __init__(self, client, retries: int = 1):
        self.client = client
        self.retries = retries
        _distributed()
        from .dask_plugin import LimitThreads

        client.register_plugin(LimitThreads(THREAD_LIMITS), name=LimitThreads.name)

    def map_unordered(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]
                      ) -> Iterator[tuple[int, Result]]:
        """``(index, fn(chunks[index]))`` in order of completion; pending tasks are cancelled
        when the consumer stops early (an interrupt or an error)."""
        as_completed = _distributed().as_completed
        futures = {self.client.submit(fn, chunk, pure=False, retries=self.retries): i
                   for i, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            self.client.cancel(list(futures))

    def map(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]) -> Iterator[Result]:
        """``fn(chunk)`` in the order of ``chunks`` (the plain executor protocol)."""
        chunks = list(chunks)
        done, next_index = {}, 0
        for i, result in self.map_unordered(fn, chunks):
            done[i] = result
            while next_index in done:
                yield done.pop(next_index)
                next_index += 1


def local_cluster(n_workers: int):
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes on 127.0.0.1, with
    :data:`THREAD_LIMITS` in their environment and no dashboard."""
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"workers={n_workers!r} is not allowed: the number of workers must be "
                          "an integer >= 1")
    distributed = _distributed()
    xla = f"{os.environ.get('XLA_FLAGS', '')} {THREAD_LIMITS['XLA_FLAGS']}".strip()
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env={**THREAD_LIMITS, "XLA_FLAGS": xla})


def connect(scheduler: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://HOST:PORT``); a
    one-line :class:`ConfigError` if it does not answer within ``timeout_s`` seconds (a TCP
    address is probed first, so a refused connection fails at once)."""
    def unreachable(reason):
        reason = " ".join(str(reason).split()) or type(reason).__name__
        return ConfigError(f"scheduler={scheduler!r}: cannot connect to a Dask scheduler there "
                           f"within {timeout_s:g} s ({reason[:200]}); allowed: the address of a "
                           "running scheduler, e.g. tcp://HOST:8786")

    if scheduler.startswith("tcp://"):
        host, _, port = scheduler[len("tcp://"):].rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        except (OSError, ValueError) as err:
            raise unreachable(err) from None
    distributed = _distributed()
    try:
        return distributed.Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise unreachable(err) from None


@contextlib.contextmanager
def dask_executor(workers: int | None = None, scheduler: str | None = None
                  ) -> Iterator[DaskExecutor | None]:
    """A :class:`DaskExecutor` on a new local cluster of ``workers`` processes, or on the
    existing ``scheduler``; ``None`` (serial) when neither is given. Closes what it opened."""
    if workers is not None and scheduler is not None:
        raise ConfigError("workers and scheduler were both given; allowed: at most one")
    if workers is None and scheduler is None:
        yield None
        return
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(connect(scheduler))
        else:
            cluster = stack.enter_context(local_cluster(workers))
            client = stack.enter_context(_distributed().Client(cluster))
        yield DaskExecutor(client)
