"""Run an experiment into a run folder, checkpointing each finished chunk of cells.

A run folder holds::

    config.toml       the resolved configuration (written first)
    cells/<id>.parquet  each finished cell's rows (the checkpoints), with how it was computed
                      (when, how long, package versions, host) in the file's metadata
    results.parquet   all cells' rows, in grid order
    summary.txt, summary.json
    *.png, *.pdf      figures
    metadata.json     seed, versions, platform, times, and when and by which versions the
                      cells were computed (written last: present iff finished)
    .lock             held while a run writes the folder (a second run is refused)

Rerunning in the same folder with the same result-defining configuration (name, module, seed,
params, grid) resumes: finished cells are read back, not recomputed, and the final results equal
those of an uninterrupted run. A different configuration in the same folder is refused with a
:class:`RunFolderConflict` naming what differs; choose another folder or delete this one.
Files are written to a temporary name and renamed, so a kill never leaves a partial file; a
checkpoint damaged anyway (truncated, empty, another cell's rows) is reported and recomputed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import platform
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .._memory import MemoryEstimate, check_memory
from .._precision import float64
from .._version import __version__
from .cells import Cell, expand_grid
from .checkpoints import finished_cells, progress_bar
from .config import (
    RESERVED_NAMES,
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    config_from_dict,
    load_experiment,
)
from .executors import Executor, SerialExecutor, completed_chunks
from .lock import LOCK_FILE, run_folder_lock
from .params import ExperimentParams, check_params
from .registry import find_experiment
from .summary import Summary
from .toml_io import dumps, format_value

CONFIG_FILE = "config.toml"
CELLS_FOLDER = "cells"
RESULTS_FILE = "results.parquet"
SUMMARY_FILE = "summary.txt"
SUMMARY_JSON_FILE = "summary.json"
METADATA_FILE = "metadata.json"
DEFAULT_CHUNK_SIZE = 1


class RunFolderConflict(ConfigError):
    """The run folder holds a run of a different configuration."""

    def __init__(self, run_dir: Path, differences: list[str]):
        self.run_dir = run_dir
        self.differences = differences
        super().__init__(f"{run_dir} holds a run of a different configuration "
                         f"({'; '.join(differences)}); choose another output folder or delete it")


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_experiment` produced (everything is also in ``run_dir``)."""

    run_dir: Path
    config: ExperimentConfig
    results: pd.DataFrame
    summary: Summary
    figures: list[Path]
    metadata: dict


@dataclass(frozen=True)
class RunRecord:
    """A run folder as found on disk (finished or not)."""

    run_dir: Path
    config: ExperimentConfig
    n_cells: int
    n_finished_cells: int
    metadata: dict | None
    summary_text: str | None
    figures: list[Path]

    @property
    def finished(self) -> bool:
        return self.metadata is not None


def default_run_dir(name: str) -> Path:
    """``runs/<name>`` in the working directory."""
    return Path("runs") / name


def resolve_experiment(
    experiment: str | Path | ExperimentConfig,
    overrides: Sequence[str] = (),
    seed: int | None = None,
) -> tuple[ExperimentConfig, ModuleType]:
    """The resolved, validated configuration of an experiment and its module.

    Args:
      experiment: a name (``experiments/<name>.toml``), a TOML path, or a configuration.
      overrides: ``key=value`` strings, applied in order.
      seed: replaces the seed (after the overrides).

    Returns:
      ``(config, module)`` with ``config.chunk_size`` filled in.

    Raises:
      ConfigError: unknown experiment or key, wrong type, or a value the module's ``validate``
        rejects.
    """
    if not isinstance(experiment, ExperimentConfig):
        experiment = load_experiment(find_experiment(experiment))
    module = import_experiment_module(experiment)
    params_type = module.PARAMS
    declared = params_type.names()
    config = apply_overrides(experiment, [*overrides, *([f"seed={seed}"] if seed is not None
                                                        else [])], declared)
    if config.chunk_size is None:
        chunk_size = getattr(module, "CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
        config = dataclasses.replace(config, chunk_size=chunk_size)
    check_params(config, params_type)
    if hasattr(module, "validate"):
        try:
            module.validate(config)
        except KeyError as err:  # a parameter the module's own shipped definitions do not set
            raise ConfigError(f"experiment {config.name!r}: module {config.module} needs "
                              f"parameter {err.args[0]!r}, which it does not define") from None
        except ConfigError:
            raise
        except ValueError as err:  # a library check (a landscape's name, a sigma rule) on a value
            raise ConfigError(f"experiment {config.name!r}: {err}") from None
    return config, module


def experiment_memory(config: ExperimentConfig, module: ModuleType,
                      cells: Sequence[Cell] | None = None) -> MemoryEstimate | None:
    """The experiment's peak memory: the largest of its module's ``peak_memory(config, chunk)``
    over the chunks of ``chunk_size`` of ``cells`` (default: every cell of its grid; a chunk is
    computed at once, one compiled program over its cells where the module batches them); None
    for a module that states none (every shipped experiment does) or no cells."""
    estimate = getattr(module, "peak_memory", None)
    cells = expand_grid(config) if cells is None else list(cells)
    if estimate is None or not cells:
        return None
    size = config.chunk_size or DEFAULT_CHUNK_SIZE
    try:
        return max((estimate(config, cells[i:i + size]) for i in range(0, len(cells), size)),
                   key=lambda e: e.needed)
    except ConfigError:
        raise
    except ValueError as err:  # a library check on a value the estimate reads
        raise ConfigError(f"experiment {config.name!r}: {err}") from None


def check_experiment_memory(config: ExperimentConfig, module: ModuleType,
                            cells: Sequence[Cell] | None = None,
                            available: int | None = None) -> MemoryEstimate | None:
    """Refuse an experiment whose peak memory (:func:`experiment_memory` of ``cells``, default
    all) exceeds what is available (``available`` bytes, default the default device's free
    memory, else the host's): a ConfigError of one line naming the computation, the bytes it
    needs, the bytes available and what to lower. :func:`run_experiment` calls it before any
    work, on the cells still to compute (a finished run is re-summarised anywhere). With a Dask
    executor each worker computes whole chunks, so the check is of this machine's memory
    against one chunk's peak. Returns the estimate."""
    estimate = experiment_memory(config, module, cells)
    if estimate is not None:
        try:
            check_memory(f"{config.name}: {estimate.what}", estimate.needed, estimate.hint,
                         available, device=True)
        except ValueError as err:
            raise ConfigError(str(err)) from None
    return estimate


def import_experiment_module(config: ExperimentConfig) -> ModuleType:
    """Import ``config.module`` and check it defines ``run_cells`` or ``run_cell``, and
    ``summarize``."""
    try:
        module = importlib.import_module(config.module)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if config.module == missing or config.module.startswith(missing + "."):
            raise ConfigError(f"experiment {config.name!r}: module {config.module!r} "
                              "does not exist") from None
        raise
    if not (hasattr(module, "run_cells") or hasattr(module, "run_cell")):
        raise ConfigError(f"module {config.module!r} defines neither run_cells nor run_cell")
    if not hasattr(module, "summarize"):
        raise ConfigError(f"module {config.module!r} does not define summarize")
    params_type = getattr(module, "PARAMS", None)
    if not (isinstance(params_type, type) and issubclass(params_type, ExperimentParams)
            and dataclasses.is_dataclass(params_type)):
        raise ConfigError(f"module {config.module!r} does not declare PARAMS, a frozen dataclass "
                          "subclassing sgldsim.runner.ExperimentParams (sgldsim.runner.params)")
    return module


@float64  # the runner owns the computation: exact measures and distances need float64
def run_experiment(
    experiment: str | Path | ExperimentConfig,
    overrides: Sequence[str] = (),
    out_dir: str | Path | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> RunResult:
    """Run (or resume) an experiment and write its run folder.

    Args:
      experiment: a name (``experiments/<name>.toml``), a TOML path, or a configuration.
      overrides: ``key=value`` strings (``params.n_particles=1000``, ``grid.beta=[10,100]``).
      out_dir: the run folder; default ``runs/<name>``.
      seed: replaces the configuration's seed.
      executor: computes chunks of cells; default :class:`SerialExecutor`.
      progress: show a progress bar over cells on stderr (when stderr is a terminal).

    Returns:
      The run's results, summary, figure paths and metadata.

    Raises:
      ConfigError: a bad experiment, key or value, or cells whose peak memory (the module's
        ``peak_memory``) exceeds what is available (:func:`check_experiment_memory`), before
        any work; RunFolderConflict if ``out_dir`` holds a run of a different configuration.
    """
    started, clock = _now(), time.perf_counter()
    config, module = resolve_experiment(experiment, overrides, seed)
    run_dir = Path(out_dir) if out_dir is not None else default_run_dir(config.name)
    # before the folder is created or any cell runs: the cells without a checkpoint yet
    check_experiment_memory(config, module, [c for c in expand_grid(config)
                                             if not _cell_path(run_dir, c).exists()])
    with _locked_run_dir(run_dir, config) as previous:
        return _run(config, module, run_dir, overrides, executor, progress, started, clock,
                    previous)


def _run(config, module, run_dir, overrides, executor, progress, started, clock,
         previous: dict | None = None) -> RunResult:
    """The body of :func:`run_experiment`, with the run folder prepared and locked."""
    cells = expand_grid(config)
    finished = finished_cells(lambda c: _cell_path(run_dir, c), cells)
    todo = [c for c in cells if c.id not in finished]
    chunks = [todo[i:i + config.chunk_size] for i in range(0, len(todo), config.chunk_size)]
    executor = SerialExecutor() if executor is None else executor
    with progress_bar(config.name, len(cells), len(cells) - len(todo), progress) as bar:
        for index, (rows_per_cell, computed) in completed_chunks(
                executor, _TimedChunkTask(ChunkTask(config)), chunks):
            chunk = chunks[index]
            for cell, rows in zip(chunk, rows_per_cell, strict=True):
                _write_atomic(_cell_path(run_dir, cell),
                              lambda p, c=cell, r=rows, m=computed: _write_cell(
                                  p, _cell_frame(c, r), m))
            bar.update(len(chunk))

    results = collect_results(run_dir, cells)
    _write_atomic(run_dir / RESULTS_FILE, results.to_parquet)
    summary = module.summarize(results, config)
    _write_text(run_dir / SUMMARY_FILE, summary.to_text())
    _write_text(run_dir / SUMMARY_JSON_FILE, json.dumps(summary.to_json(), indent=2) + "\n")
    figures = []
    if hasattr(module, "figures"):
        from ..figures.style import paper_style

        with paper_style():
            figures = [Path(p) for p in module.figures(results, config, run_dir)]
    metadata = _metadata(config, overrides, started, time.perf_counter() - clock, len(cells),
                         len(todo), executor, figures, run_dir)
    metadata["cells_computed"] = cells_provenance(run_dir, cells)
    metadata["cells_wall_time_s"] = cells_wall_time(metadata, previous)
    _write_text(run_dir / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    return RunResult(run_dir, config, results, summary, figures, metadata)


@dataclass(frozen=True)
class ChunkTask:
    """Computes one chunk of cells: ``ChunkTask(config)(cells) -> rows per cell``.

    Picklable (it imports the experiment module by name), so executors may run it elsewhere.
    Calls ``run_cells(config, cells, keys)`` with ``keys`` the cells' stacked PRNG keys, or
    ``run_cell(config, cell, key)`` once per cell, and returns plain-Python rows.
    """

    config: ExperimentConfig

    @float64  # also where an executor runs it: another thread or process
    def __call__(self, cells: list[Cell]) -> list[list[dict]]:
        module = importlib.import_module(self.config.module)
        if hasattr(module, "run_cells"):
            keys = jnp.asarray(np.stack([c.key for c in cells]))
            rows_per_cell = list(module.run_cells(self.config, cells, keys))
            if len(rows_per_cell) != len(cells):
                raise TypeError(f"{self.config.module}.run_cells returned {len(rows_per_cell)} "
                                f"row lists for {len(cells)} cells; it must return one per cell")
        else:
            rows_per_cell = [module.run_cell(self.config, c, jnp.asarray(c.key)) for c in cells]
        return [_checked_rows(self.config, c, rows) for c, rows in
                zip(cells, rows_per_cell, strict=True)]


@dataclass(frozen=True)
class _TimedChunkTask:
    """``task(cells)`` and how it was computed: ``(rows per cell, provenance)``, the provenance
    measured where the chunk ran (a worker process or machine for distributed executors)."""

    task: ChunkTask

    def __call__(self, cells: list[Cell]) -> tuple[list[list[dict]], dict]:
        start = time.perf_counter()
        rows_per_cell = self.task(cells)
        return rows_per_cell, {
            "computed_at": _now(),
            "compute_s": round((time.perf_counter() - start) / len(cells), 3),
            "chunk_cells": len(cells),
            "sgldsim": __version__,
            "jax": jax.__version__,
            "jax_backend": jax.default_backend(),
            "host": platform.node(),
        }


PROVENANCE_KEY = b"sgldsim.computed"
"""Key of a checkpoint's Parquet schema metadata holding its provenance (JSON): computed_at
(when its chunk finished, UTC), compute_s (the chunk's wall time shared equally among its cells),
chunk_cells, sgldsim, jax, jax_backend, host."""


def _write_cell(path: Path, frame: pd.DataFrame, computed: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), PROVENANCE_KEY: json.dumps(computed).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)


def cell_provenance(path: Path) -> dict | None:
    """How the checkpoint at ``path`` was computed (see :data:`PROVENANCE_KEY`); None for a
    checkpoint written without it (before sgldsim recorded it)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(PROVENANCE_KEY)
    return None if raw is None else json.loads(raw)


def cells_provenance(run_dir: Path, cells: list[Cell]) -> dict:
    """When and by what the cells' results were computed, over all of them (reused ones too):
    first and last ``computed_at``, total ``compute_s``, the sgldsim and jax versions, backends and
    hosts seen, and how many checkpoints carry no record."""
    records = [cell_provenance(_cell_path(run_dir, c)) for c in cells]
    known = [r for r in records if r is not None]
    summary = {"n_cells_without_record": len(records) - len(known)}
    if known:
        summary |= {
            "first": min(r["computed_at"] for r in known),
            "last": max(r["computed_at"] for r in known),
            "compute_s": round(sum(r["compute_s"] for r in known), 3),
            **{f"{field}s": sorted({r[field] for r in known}) for field in (
                "sgldsim", "jax", "jax_backend", "host")},
        }
    return summary


def _checked_rows(config: ExperimentConfig, cell: Cell, rows: Iterable[dict]) -> list[dict]:
    """Rows as plain Python: ``measure`` a string, ``value`` a float, labels scalars."""
    checked = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("measure"), str) or (
                "value" not in row):
            raise TypeError(f"{config.module}: cell {cell.id} returned row {row!r}; a row is a "
                            "dict with a 'measure' string and a 'value' number")
        clash = [k for k in row if k in cell.grid_values or k == "cell_id"]
        if clash:
            raise TypeError(f"{config.module}: row label {clash[0]!r} clashes with a results "
                            "column (cell_id and the grid parameters are added by the runner)")
        checked.append({k: _plain(v) if k != "value" else float(v) for k, v in row.items()})
    if not checked:
        raise TypeError(f"{config.module}: cell {cell.id} returned no rows")
    return checked


def _plain(value):
    """numpy and JAX scalars to Python scalars (parquet and JSON want plain values)."""
    return value.item() if hasattr(value, "item") and np.ndim(value) == 0 else value


def _cell_frame(cell: Cell, rows: list[dict]) -> pd.DataFrame:
    """``cell_id``, the grid parameters, the rows' labels, ``measure``, ``value``."""
    n = len(rows)
    rows_frame = pd.DataFrame(rows)
    labels = [c for c in rows_frame.columns if c not in RESERVED_NAMES]
    columns = {"cell_id": [cell.id] * n, **{k: [v] * n for k, v in cell.grid_values.items()}}
    columns |= {c: rows_frame[c].tolist() for c in [*labels, "measure", "value"]}
    return pd.DataFrame(columns)


def collect_results(run_dir: Path, cells: list[Cell]) -> pd.DataFrame:
    """All cells' rows, in grid order, read from the run folder's checkpoints."""
    missing = [c.id for c in cells if not _cell_path(run_dir, c).exists()]
    if missing:
        raise RuntimeError(f"{len(missing)} cells have no results in {run_dir / CELLS_FOLDER}")
    frames = [pd.read_parquet(_cell_path(run_dir, c)) for c in cells]
    foreign = [c.id for c, f in zip(cells, frames, strict=True) if set(f["cell_id"]) != {c.id}]
    if foreign:
        raise RuntimeError(f"{len(foreign)} checkpoints in {run_dir / CELLS_FOLDER} hold other "
                           f"cells' rows (first: {foreign[0]})")
    return pd.concat(frames, ignore_index=True)


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a run folder: its configuration, progress, and (if finished) metadata and summary."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a run folder: it is a file (a run folder is the "
                          f"folder that `sgldsim run` writes, with {CONFIG_FILE} inside)")
    if not run_dir.is_dir():
        raise ConfigError(f"run folder {run_dir} does not exist")
    config = _read_config(run_dir)
    if config is None:
        raise ConfigError(f"{run_dir} is not a run folder: it has no {CONFIG_FILE}")
    cells = expand_grid(config)
    metadata_path, summary_path = run_dir / METADATA_FILE, run_dir / SUMMARY_FILE
    return RunRecord(
        run_dir=run_dir, config=config, n_cells=len(cells),
        n_finished_cells=sum(_cell_path(run_dir, c).exists() for c in cells),
        metadata=read_json_file(metadata_path) if metadata_path.exists() else None,
        summary_text=summary_path.read_text() if summary_path.exists() else None,
        figures=sorted(p for p in run_dir.iterdir() if p.suffix in (".png", ".pdf")),
    )


def read_json_file(path: Path):
    """The JSON document in ``path``; a one-line ConfigError naming the file if it is not valid
    UTF-8 JSON (a damaged run folder: rerunning the experiment into it rewrites the file)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = (f"{err.msg} at line {err.lineno} column {err.colno}"
                 if isinstance(err, json.JSONDecodeError) else "not UTF-8 text")
        raise ConfigError(f"{path} is damaged: not valid JSON ({where}); rerun the experiment "
                          f"with --out {path.parent} to rewrite it") from None


def config_differences(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """``"key: old -> new"`` for each result-defining field that differs."""
    a, b = old.result_defining(), new.result_defining()
    flat = lambda d: {**{k: d[k] for k in ("name", "module", "seed")},
                      **{f"{t}.{k}": v for t in ("params", "grid") for k, v in d[t].items()}}
    fa, fb = flat(a), flat(b)
    show = lambda d, k: format_value(d[k]) if k in d else "(absent)"
    return [f"{k}: {show(fa, k)} -> {show(fb, k)}" for k in [*fa, *(k for k in fb if k not in fa)]
            if fa.get(k, _ABSENT) != fb.get(k, _ABSENT)]


_ABSENT = object()


@contextlib.contextmanager
def _locked_run_dir(run_dir: Path, config: ExperimentConfig):
    """Check, create and lock the run folder, and write its ``config.toml``; file-system errors
    on the folder (permissions, a read-only disk) become one-line ConfigErrors."""
    try:
        _check_run_dir_path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        with run_folder_lock(run_dir):
            yield _prepare_run_dir(run_dir, config)
    except OSError as err:
        if err.filename is None or not _is_within(Path(err.filename), run_dir):
            raise
        raise ConfigError(f"cannot write run folder {run_dir}: {err.strerror} ({err.filename}); "
                          f"choose a writable output folder (`sgldsim show {run_dir}` reads a "
                          "finished run without writing)") from None


def _is_within(path: Path, folder: Path) -> bool:
    path, folder = path.absolute(), folder.absolute()
    return path == folder or folder in path.parents or path in folder.parents


def _check_run_dir_path(run_dir: Path) -> None:
    """Refuse, before creating anything, a path that is a file or a foreign non-empty folder."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run folder {run_dir} is an existing file; allowed: a new or empty "
                          "folder, or a run folder to resume")
    if run_dir.is_dir() and not (run_dir / CONFIG_FILE).exists() and _has_files(run_dir):
        raise ConfigError(f"{run_dir} is not empty and is not a run folder (no {CONFIG_FILE}); "
                          "choose a new or empty output folder")


def _has_files(folder: Path) -> bool:
    return any(p.name != LOCK_FILE for p in folder.iterdir())


def _prepare_run_dir(run_dir: Path, config: ExperimentConfig) -> dict | None:
    """Create the folder, or check it holds the same configuration; write ``config.toml``.
    Returns the metadata of the previous finished invocation in the folder (None if none)."""
    existing = _read_config(run_dir) if run_dir.is_dir() else None
    if existing is not None:
        differences = config_differences(existing, config)
        if differences:
            raise RunFolderConflict(run_dir, differences)
    elif run_dir.is_dir() and _has_files(run_dir):
        raise ConfigError(f"{run_dir} is not empty and is not a run folder (no {CONFIG_FILE}); "
                          "choose a new or empty output folder")
    (run_dir / CELLS_FOLDER).mkdir(parents=True, exist_ok=True)
    for folder in (run_dir, run_dir / CELLS_FOLDER):
        for stale in folder.glob(".*.tmp"):  # left by a kill mid-write
            stale.unlink()
    previous = None
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads((run_dir / METADATA_FILE).read_text())
    with contextlib.suppress(FileNotFoundError):
        (run_dir / METADATA_FILE).unlink()  # present iff the latest invocation finished
    _write_text(run_dir / CONFIG_FILE, dumps(config.to_dict()))
    return previous if isinstance(previous, dict) else None


def cells_wall_time(metadata: dict, previous: dict | None) -> float | None:
    """Wall time of the invocations that computed the run's cells, in seconds (``None`` when not
    recorded): this invocation's when it computed every cell; when it reused cells, the time the
    previous finished invocation recorded for them (its ``cells_wall_time_s``, or for metadata
    written before that field its ``wall_time_s`` if it computed cells) plus this one's if it
    computed the rest. A rerun that only re-summarises cached cells keeps the computing run's
    time, so "how long does this experiment take" survives ``sgldsim figures``."""
    own = metadata["wall_time_s"] if metadata["n_cells_computed"] > 0 else 0.0
    if metadata["n_cells_reused"] == 0:
        return own
    carried = None if previous is None else previous.get("cells_wall_time_s")
    if carried is None and previous is not None and previous.get("n_cells_computed", 0) > 0:
        carried = previous.get("wall_time_s")
    return None if carried is None else round(float(carried) + own, 3)


def _read_config(run_dir: Path) -> ExperimentConfig | None:
    path = run_dir / CONFIG_FILE
    if not path.exists():
        return None
    try:
        return config_from_dict(tomllib.loads(path.read_text()), source=str(path))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None


def _cell_path(run_dir: Path, cell: Cell) -> Path:
    return run_dir / CELLS_FOLDER / f"{cell.id}.parquet"


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` then rename onto ``path``: readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_text(path: Path, text: str) -> None:
    _write_atomic(path, lambda p: p.write_text(text))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _metadata(config, overrides, started, wall_time_s, n_cells, n_computed, executor, figures,
              run_dir) -> dict:
    return {
        "experiment": config.name,
        "description": config.description,
        "seed": config.seed,
        "overrides": list(overrides),
        "n_cells": n_cells,
        "n_cells_computed": n_computed,
        "n_cells_reused": n_cells - n_computed,
        "chunk_size": config.chunk_size,
        "executor": type(executor).__name__,
        "started": started,
        "finished": _now(),
        "wall_time_s": round(wall_time_s, 3),
        "versions": {"sgldsim": __version__, "jax": jax.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__,
                     "python": platform.python_version()},
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "figures": [str(Path(p).relative_to(run_dir)) if Path(p).is_relative_to(run_dir)
                    else str(p) for p in figures],
    }
