"""Executors: how the runner's chunks of cells get computed.

An executor is any object with ``map(fn, chunks)`` returning an iterator over ``fn(chunk)`` in
the order of ``chunks``; the runner checkpoints each chunk's cells as its result arrives, so an
executor should yield each result as soon as it (and those before it) is done.

``fn`` is a picklable callable (it imports the experiment module by name) and a chunk is a list
of :class:`~sgldsim.experiments.Cell` (plain data with a numpy key), so work can run elsewhere:

- ``concurrent.futures.ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn"))``
  satisfies the interface as it is (use "spawn": JAX is not fork-safe).
- A cluster executor submits one job per chunk and yields the results in order, e.g. with
  submitit::

      class SubmititExecutor:
          def __init__(self, folder, **slurm):
              self._executor = submitit.AutoExecutor(folder=folder)
              self._executor.update_parameters(**slurm)

          def map(self, fn, chunks):
              jobs = [self._executor.submit(fn, chunk) for chunk in chunks]
              for job in jobs:
                  yield job.result()

  or with dask: ``for future in client.map(fn, list(chunks)): yield future.result()``.
  Workers need sgldsim installed; they need no access to the run folder, which only the
  process calling :func:`~sgldsim.experiments.run_experiment` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")


class Executor(Protocol):
    """Computes ``fn`` on each chunk; yields the results in chunk order."""

    def map(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]) -> Iterator[Result]: ...


class SerialExecutor:
    """Computes chunks one after another in this process (lazily: one chunk per ``next``)."""

    def map(self, fn: Callable[[Chunk], Result], chunks: Iterable[Chunk]) -> Iterator[Result]:
        for chunk in chunks:
            yield fn(chunk)
