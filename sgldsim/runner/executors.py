"""Executors: how the runner's chunks of cells get computed.

An executor is any object with ``map(fn, chunks)`` returning an iterator over ``fn(chunk)`` in
the order of ``chunks``, and optionally ``map_unordered(fn, chunks)`` yielding
``(chunk index, fn(chunk))`` in order of completion. The runner uses ``map_unordered`` where it
exists and checkpoints each chunk's cells as its result arrives, so a finished chunk is never
lost behind a slow one; with ``map`` it checkpoints in chunk order.

``fn`` is a picklable callable (it imports the experiment module by name) and a chunk is a list
of :class:`~sgldsim.experiments.Cell` (plain data with a numpy key), so work can run elsewhere:

- :class:`~sgldsim.experiments.DaskExecutor` runs chunks on a ``dask.distributed`` cluster
  (``sgldsim run NAME --workers N`` or ``--scheduler tcp://HOST:PORT``).
- ``concurrent.futures.ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn"))``
  satisfies the interface as it is (use "spawn": JAX is not fork-safe).
- A batch-system executor submits one job per chunk, e.g. with submitit::

      class SubmititExecutor:
          def __init__(self, folder, **slurm):
              self._executor = submitit.AutoExecutor(folder=folder)
              self._executor.update_parameters(**slurm)

          def map(self, fn, chunks):
              jobs = [self._executor.submit(fn, chunk) for chunk in chunks]
              for job in jobs:
                  yield job.result()

  Workers need sgldsim installed; they need no access to the run folder, which only the
  process calling :func:`~sgldsim.experiments.run_experiment` writes.

Every cell's randomness comes from its own key, so the executor, the chunk size and the order of
completion do not change a number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")


class Executor(Protocol):
    """Computes ``fn`` on each chunk; yields the results in chunk order (optionally also
    ``map_unordered``: ``(index, result)`` pairs in order of completion)."""

    def map(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]) -> Iterator[Result]: ...


class SerialExecutor:
    """Computes chunks one after another in this process (lazily: one chunk per ``next``)."""

    def map(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]) -> Iterator[Result]:
        for chunk in chunks:
            yield fn(chunk)


def completed_chunks(executor, fn: Callable[[Chunk], Result], chunks: list[Chunk]
                     ) -> Iterator[tuple[int, Result]]:
    """``(index, fn(chunks[index]))`` as the executor finishes them: its ``map_unordered`` if it
    has one, else its ``map`` in chunk order."""
    if hasattr(executor, "map_unordered"):
        return iter(executor.map_unordered(fn, chunks))
    return enumerate(executor.map(fn, chunks))
