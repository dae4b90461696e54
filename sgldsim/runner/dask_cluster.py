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
import logging
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
        dashboard_address=None, env={**THREAD_LIMITS, "XLA_FLAGS": xla},
        silence_logs=logging.ERROR)  # the workers' own warnings (cancelled tasks at shutdown)


SCHEDULER_SCHEMES = ("tcp",)
"""Address schemes ``--scheduler`` accepts (a bare HOST:PORT is tcp, as in Dask). tls:// needs a
security configuration and inproc:// a scheduler in this process: use ``distributed.Client``
and :class:`DaskExecutor` from Python for those."""
_ADDRESS_FORM = "tcp://HOST:PORT with PORT an integer in 1-65535, e.g. tcp://127.0.0.1:8786"


def parse_scheduler_address(scheduler: str) -> tuple[str, int]:
    """(host, port) of a scheduler address ``tcp://HOST:PORT`` (or ``HOST:PORT``; IPv6 hosts in
    brackets); a one-line :class:`ConfigError` naming the address and the allowed form unless
    the scheme is supported, the host non-empty and the port an integer in 1-65535."""
    def bad(problem):
        return ConfigError(f"scheduler={scheduler!r}: {problem}; allowed: {_ADDRESS_FORM}")

    if not isinstance(scheduler, str):
        raise bad(f"not a string but {type(scheduler).__name__}")
    scheme, sep, rest = scheduler.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", scheduler.strip()
    if scheme.lower() not in SCHEDULER_SCHEMES:
        raise bad(f"the scheme {scheme + '://'!r} is not supported (supported: "
                  f"{', '.join(s + '://' for s in SCHEDULER_SCHEMES)})")
    if "/" in rest or "?" in rest or "@" in rest:
        raise bad("an address has no path, query or user part")
    if rest.startswith("["):  # [IPv6]:PORT
        host, closed, tail = rest[1:].partition("]")
        port = tail[1:] if closed and tail.startswith(":") else None
        if not closed or (tail and port is None):
            raise bad("malformed [IPv6] host")
    else:
        host, colon, port = rest.rpartition(":")
        if not colon:
            host, port = rest, None
        elif ":" in host:
            raise bad("an IPv6 host must be in brackets, e.g. tcp://[::1]:8786")
    if not host:
        raise bad("no host")
    if port is None or port == "":
        raise bad("no port")
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise bad(f"the port {port!r} is not an integer in 1-65535")
    return host, int(port)


def connect(scheduler: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://HOST:PORT``).

    The address is checked first (:func:`parse_scheduler_address`), then probed, each step
    within ``timeout_s`` seconds, so that every failure is a one-line :class:`ConfigError`:
    a TCP connection (a refused or unroutable address fails here), then a Dask handshake and an
    ``identity`` request (a service that is not a Dask scheduler fails here instead of hanging:
    ``distributed``'s own handshake read has no timeout), and only then the client."""
    host, port = parse_scheduler_address(scheduler)
    address = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"

    def unreachable(reason):
        reason = " ".join(str(reason).split()) or type(reason).__name__
        return ConfigError(f"scheduler={scheduler!r}: cannot connect to a Dask scheduler there "
                           f"within {timeout_s:g} s ({reason[:200]}); allowed: the address of a "
                           "running scheduler, e.g. tcp://HOST:8786")

    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as err:
        raise unreachable(err) from None
    distributed = _distributed()
    identity = _identify(distributed, address, timeout_s)
    if isinstance(identity, BaseException):
        raise unreachable(identity) from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        kind = identity.get("type") if isinstance(identity, dict) else None
        raise unreachable(f"a Dask {kind} answers there, not a scheduler" if kind else
                          "the service there does not answer as a Dask scheduler")
    try:
        return distributed.Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise unreachable(err) from None


def _identify(distributed, address: str, timeout_s: float):
    """The scheduler's reply to ``identity`` over a fresh comm, or the exception that stopped
    it (a timeout after ``timeout_s`` seconds when the service never completes the handshake).
    Runs on its own event loop in a helper thread, so it works under a running loop too."""
    import asyncio
    import concurrent.futures

    async def ask():
        comm = await distributed.comm.connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def run():
        try:
            return asyncio.run(asyncio.wait_for(ask(), timeout_s))
        except TimeoutError:
            return TimeoutError("no Dask handshake from the service there")
        except Exception as err:  # noqa: BLE001 - any failure of the probe is reported
            return err

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


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
        stack.enter_context(_quiet_distributed_logs())  # entered first: also covers the close
        if scheduler is not None:
            client = stack.enter_context(connect(scheduler))
        else:
            cluster = stack.enter_context(local_cluster(workers))
            client = stack.enter_context(_distributed().Client(cluster))
        yield DaskExecutor(client)


@contextlib.contextmanager
def _quiet_distributed_logs(level: int = logging.ERROR) -> Iterator[None]:
    """Raise the ``distributed`` loggers (the package's and each ``distributed.*`` one with its
    own level) to at least ``level`` inside the Dask executor only, restoring them on exit:
    the warnings of an orderly shutdown or an interrupt (cancelled tasks, nannies killing their
    workers) would otherwise surround sgldsim's own one-line message. Errors still show."""
    names = ["distributed"] + [name for name in list(logging.root.manager.loggerDict)
                               if name.startswith("distributed.")]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger, logger.level) for logger in loggers]
    for logger, old in saved:
        if old == logging.NOTSET and logger.name != "distributed":
            continue  # inherits from "distributed"
        logger.setLevel(max(old, level))
    try:
        yield
    finally:
        for logger, old in saved:
            logger.setLevel(old)
