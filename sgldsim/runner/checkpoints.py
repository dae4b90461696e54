"""Checkpoints of a run folder (``cells/<id>.parquet``): which are trustworthy, and progress.

A checkpoint is trusted only if it reads as Parquet and every row's ``cell_id`` is its cell's id;
a truncated, empty or foreign file (another cell's rows) is reported on stderr, removed and
recomputed, never trusted and never fatal.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from .cells import Cell


def checkpoint_problem(path: Path, cell: Cell) -> str | None:
    """Why the checkpoint at ``path`` cannot be trusted for ``cell``; None if it can (or is absent
    — then ``path.exists()`` says so)."""
    try:
        ids = pd.read_parquet(path, columns=["cell_id"])["cell_id"]
    except FileNotFoundError:
        return None
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for damaged files
        return (f"unreadable: not a Parquet file of this cell ({path.stat().st_size} bytes, "
                f"{type(err).__name__})")
    if ids.empty:
        return "it holds no rows"
    foreign = sorted(set(ids) - {cell.id})
    if foreign:
        return f"it holds rows of cell {foreign[0]}"
    return None


def finished_cells(cell_path, cells: list[Cell]) -> set[str]:
    """Ids of the cells with a trusted checkpoint ``cell_path(cell)``; bad ones are reported on
    stderr and removed so that they are recomputed."""
    finished = set()
    for cell in cells:
        path = cell_path(cell)
        if not path.exists():
            continue
        problem = checkpoint_problem(path, cell)
        if problem is None:
            finished.add(cell.id)
            continue
        print(f"sgldsim: warning: checkpoint {path} is bad ({problem}); recomputing cell "
              f"{cell.id}", file=sys.stderr)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return finished


PLAIN_PROGRESS_INTERVAL_S = 5.0
"""Off a terminal, progress lines come at most this often, plus the last one (all cells done)."""


class _PlainProgress:
    """Progress lines on stderr, ``name: done/total cells, elapsed, ETA``: the first update's,
    then at most one per :data:`PLAIN_PROGRESS_INTERVAL_S` seconds, and the final one (a log
    of an 80k-cell grid gets a line per 5 s, not one per chunk)."""

    def __init__(self, name: str, total: int, initial: int,
                 interval_s: float = PLAIN_PROGRESS_INTERVAL_S):
        self.name, self.total, self.done, self.initial = name, total, initial, initial
        self.interval_s = interval_s
        self.started = time.perf_counter()
        self.printed = -float("inf")  # when the last line was printed

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.printed < self.interval_s and self.done < self.total:
            return
        self.printed = now
        elapsed = now - self.started
        computed = self.done - self.initial
        eta = elapsed / computed * (self.total - self.done) if computed else float("nan")
        print(progress_line(self.name, self.done, self.total, elapsed, eta), file=sys.stderr,
              flush=True)


def progress_line(name: str, done: int, total: int, elapsed: float, eta: float) -> str:
    """``coupling: 4/16 cells (25%), 12.3 s elapsed, ETA 36.9 s``."""
    return (f"{name}: {done}/{total} cells ({100 * done / max(total, 1):.0f}%), "
            f"{elapsed:.1f} s elapsed, ETA {eta:.1f} s")


@contextlib.contextmanager
def progress_bar(name: str, total: int, initial: int, enabled: bool = True):
    """A tqdm bar on stderr when it is a terminal, else plain lines at most every 5 s (logs,
    CI, nohup: :class:`_PlainProgress`); nothing when not ``enabled``. Yields an object with
    ``update(n_cells)``."""
    if enabled and not _is_terminal(sys.stderr):
        yield _PlainProgress(name, total, initial)
        return
    with tqdm(total=total, initial=initial, desc=name, unit="cell", file=sys.stderr,
              disable=None if enabled else True) as bar:
        yield bar


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
