"""The experiment runner: declarative definitions, a resumable runner, executors (serial, Dask),
checkpoints and summaries, and the experiment-module API that every experiment implements.

Definition
----------
An experiment is a TOML file ``experiments/<name>.toml`` at the repository's top level::

    name = "demo-quadratic"                        # equals the file's stem
    description = "one line"
    module = "sgldsim.experiments.fsgld_theory.demo_quadratic"  # implements the experiment
    seed = 0
    chunk_size = 4                                 # optional (else module's CHUNK_SIZE, else 1)
    figures = false                                # optional: in `sgldsim figures`? (default true)

    [params]          # fixed parameters: strings, booleans, integers, numbers, lists of these
    n_particles = 20000

    [grid]            # swept parameters: lists; the cells are their Cartesian product
    step_size = [0.1, 0.2, 0.4]
    beta = [1.0, 10.0]

Overrides ``key=value`` (TOML values): ``seed=3``, ``chunk_size=8``, ``params.n_particles=1000``,
``grid.beta=[10,100]``; ``grid.x=`` on a fixed parameter sweeps it, ``params.x=`` on a swept one
fixes it. Unknown keys, wrong types (an integer is fine where a number is expected) and values
the module's ``validate`` rejects raise :class:`ConfigError` with a one-line message.

Experiment module API
---------------------
A module defines::

    @dataclass(frozen=True)
    class Params(ExperimentParams): ...                           # declared parameters
    PARAMS = Params                                               # checked before any work
    CHUNK_SIZE = 16                                               # optional
    def validate(config: ExperimentConfig) -> None                # optional; raise ConfigError
    def run_cells(config: ExperimentConfig, cells: list[Cell], keys: jax.Array)
        -> list[list[dict]]                                       # one row list per cell
    # or, one cell at a time:
    def run_cell(config: ExperimentConfig, cell: Cell, key: jax.Array) -> list[dict]
    def peak_memory(config: ExperimentConfig, cells: list[Cell])
        -> sgldsim._memory.MemoryEstimate                         # peak bytes of one chunk
    def summarize(results: pandas.DataFrame, config: ExperimentConfig) -> Summary
    def figures(results: pandas.DataFrame, config: ExperimentConfig, out_dir: Path)
        -> list[Path]                                             # optional; PNG + PDF

- ``PARAMS`` declares every parameter with its type and default (:mod:`sgldsim.runner.params`);
  a TOML or ``--set`` naming an unknown parameter or giving a value of the wrong type is refused
  in one line naming the key and the allowed names. ``PARAMS.from_cell(cell)`` gives a cell's
  parameters typed; ``PARAMS.from_config(config)`` the run's (a swept one as its grid values).
- ``peak_memory`` states the peak bytes of computing ``cells`` as one chunk, from the parameters
  alone (the dominant arrays: particles x dimension x dtype bytes, stacked records, vmapped runs
  x their working set, with the copies the computation makes), an upper-order estimate, not a
  measurement. Before any work (in :func:`run_experiment`, before the run folder is created) the
  runner takes the largest over the chunks of the cells still to compute and refuses a run that
  needs more than the default device (else the host) has free, in one line naming both numbers
  and what to lower (CLI: exit status 2). Every
  shipped experiment defines it (``tests/test_robustness_guards.py`` checks); a module without
  one is not checked.
- ``cell.params`` holds the values the definition gives in the cell (fixed and swept), ``cell.id``
  a hash of them, ``cell.key`` its raw PRNG key (``uint32[2]``). ``keys`` stacks the chunk's keys
  (``uint32[n_cells, 2]``), ready for ``jax.vmap`` over cells. If both functions exist,
  ``run_cells`` is used.
- A row is a dict with ``measure`` (str) and ``value`` (float) and optionally label keys (e.g.
  ``method``, ``step``). Statistical errors are their own measure, named ``<measure>_stderr``.
  The runner prepends ``cell_id`` and the swept parameters, so ``results`` (and
  ``results.parquet``) is tidy: columns ``cell_id, <grid params>, <labels>, measure, value``,
  one row per cell and measurement, in grid order.
- ``Summary(table, fitted, verdicts)`` with ``verdicts`` a list of ``(claim, verdict, reason)``
  and verdict one of "consistent", "inconsistent", "inconclusive", "untestable"
  (:mod:`sgldsim.verdicts`), and ``legend`` a dict explaining every column of the table (printed
  under it). A claim the grid cannot resolve is "inconclusive", one the data could not have
  violated "untestable", always with the reason.
- :func:`cells_table` turns ``results`` into one row per cell with a column per measure.
- ``figures`` runs inside :func:`sgldsim.figures.paper_style`; use
  :func:`sgldsim.figures.new_figure` and :func:`sgldsim.figures.save_figure`.

Chunks, keys, resume
--------------------
The grid expands into cells (first grid key slowest). Each cell's id hashes its parameters and
its key is 64 bits of SHA-256 over (seed, id), so results depend on neither chunking, grid
composition nor resuming (experiments that batch cells give each cell its own key inside the
batch). Unfinished cells are cut into chunks of ``chunk_size`` and handed to an :class:`Executor`
(``map(fn, chunks)`` or ``map_unordered``; :class:`SerialExecutor` by default,
:class:`DaskExecutor` for a Dask cluster); each finished chunk's cells are saved to
``<run>/cells/<id>.parquet`` as it completes (write, then rename). Rerunning
into the same folder with the same result-defining configuration (name, module, seed, params,
grid) skips finished cells; a different one raises :class:`RunFolderConflict`. A checkpoint that
does not read back as its cell's rows is reported and recomputed. A run locks its folder: a
second run into it raises :class:`RunFolderBusy`. See :func:`run_experiment` for the run
folder's files.
"""

from .cells import Cell, cell_id, cell_key, expand_grid
from .config import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    config_from_dict,
    load_experiment,
    parse_value,
)
from .dask_cluster import THREAD_LIMITS, DaskExecutor, dask_executor, local_cluster
from .executors import Executor, SerialExecutor
from .lock import RunFolderBusy
from .params import ExperimentParams, cell_values, check_params, describe_params
from .registry import experiment_files, experiments_folder, find_experiment, list_experiments
from .report import results_page, stale_pages, write_results_pages
from .run import (
    ChunkTask,
    RunFolderConflict,
    RunRecord,
    RunResult,
    default_run_dir,
    load_run,
    resolve_experiment,
    run_experiment,
)
from .summary import Summary
from .tables import cells_table

__all__ = [
    "THREAD_LIMITS",
    "Cell",
    "ChunkTask",
    "ConfigError",
    "DaskExecutor",
    "Executor",
    "ExperimentParams",
    "ExperimentConfig",
    "RunFolderBusy",
    "RunFolderConflict",
    "RunRecord",
    "RunResult",
    "SerialExecutor",
    "Summary",
    "apply_overrides",
    "cell_id",
    "cell_key",
    "cell_values",
    "cells_table",
    "check_params",
    "config_from_dict",
    "dask_executor",
    "default_run_dir",
    "describe_params",
    "expand_grid",
    "experiment_files",
    "experiments_folder",
    "find_experiment",
    "list_experiments",
    "load_experiment",
    "load_run",
    "local_cluster",
    "parse_value",
    "resolve_experiment",
    "results_page",
    "run_experiment",
    "stale_pages",
    "write_results_pages",
]
