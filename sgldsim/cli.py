"""The ``sgldsim`` command: list, run, show experiments and regenerate the paper's figures.

    sgldsim list [PATH ...]
    sgldsim run NAME|FILE [--set key=value ...] [--out DIR] [--seed N] [DASK]
    sgldsim figures [--out paper_figures] [--force] [--only NAME|FILE ...] [DASK]
    sgldsim show RUN_DIR
    sgldsim report [RUNS] [--out docs/results] [--readme README.md] [--check]
    sgldsim --version

Problems a user can cause (unknown experiment or key, bad value, missing run folder) print one
line on stderr and exit with status 2; ``--debug`` (before or after the command) shows the
traceback instead.

DASK: ``--workers N`` computes chunks of cells on a local Dask cluster of N single-threaded
worker processes, ``--scheduler tcp://HOST:PORT`` on an existing Dask cluster (default: serially
in this process). The results are the same.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._precision import float64
from ._version import __version__
from .verdicts import VERDICTS

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _PlainHelp(argparse.HelpFormatter):
    """Help text without the reStructuredText markup of the docstrings it comes from
    (``sgldsim`` reads as sgldsim on a terminal)."""

    def _format_text(self, text):
        return super()._format_text(_plain(text))

    def _expand_help(self, action):
        return _plain(super()._expand_help(action))


def _plain(text: str) -> str:
    return text.replace("``", "").replace("`", "")


class _Parser(argparse.ArgumentParser):
    """Reports usage errors in one line, like the package's own errors; help without markup."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _PlainHelp)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"sgldsim: error: {message} (see {self.prog} --help)\n")


_DEBUG_HELP = "show tracebacks of errors"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sgldsim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"sgldsim {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    # --debug is also accepted after the command; SUPPRESS keeps a command's parser from
    # resetting the value given before it
    debug_after = _Parser(add_help=False)
    debug_after.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=_DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", parents=[debug_after],
                                  help="list experiments with their descriptions")
    listing.add_argument("paths", nargs="*", metavar="PATH",
                         help="experiment TOML files or folders (default: the repository's "
                              "experiments/ folder)")
    listing.set_defaults(handler=list_command)

    run = commands.add_parser("run", parents=[debug_after], help="run (or resume) an experiment")
    run.add_argument("experiment", metavar="NAME|FILE")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY=VALUE",
                     help="override a value: seed=3, params.n_particles=1000, grid.beta=[10,100]")
    run.add_argument("--out", type=Path, help="run folder (default: runs/<name>)")
    run.add_argument("--seed", type=int, help="replace the experiment's seed")
    _add_dask_options(run)
    run.set_defaults(handler=run_command)

    figures = commands.add_parser("figures", parents=[debug_after],
                                  help="run the paper's experiments and collect their figures "
                                       "and results tables")
    figures.add_argument("--out", type=Path, default=Path("paper_figures"),
                         help="output folder (default: paper_figures)")
    figures.add_argument("--force", action="store_true",
                         help="recompute instead of reusing results cached in <out>/<name>/")
    figures.add_argument("--only", nargs="+", metavar="NAME|FILE",
                         help="these experiments (default: every one with figures = true)")
    _add_dask_options(figures)
    figures.set_defaults(handler=figures_command)

    show = commands.add_parser("show", parents=[debug_after],
                               help="show the summary of a run folder")
    show.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    show.set_defaults(handler=show_command)

    report = commands.add_parser("report", parents=[debug_after],
                                 help="write a Markdown results page per finished run folder, "
                                      "and an index")
    report.add_argument("runs", type=Path, nargs="?", default=Path("paper_figures"),
                        metavar="RUNS", help="folder of run folders (default: paper_figures)")
    report.add_argument("--out", type=Path, default=Path("docs/results"),
                        help="folder of the pages (default: docs/results)")
    report.add_argument("--readme", type=Path, metavar="FILE",
                        help="also refresh the experiment table between the markers in FILE")
    report.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page differs from its run folder")
    report.set_defaults(handler=report_command)
    return parser


def _positive_workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--workers {text} is not allowed: the number of worker "
                                         "processes must be an integer >= 1")
    return value


def _add_dask_options(command: argparse.ArgumentParser) -> None:
    dask = command.add_mutually_exclusive_group()
    dask.add_argument("--workers", type=_positive_workers, metavar="N",
                      help="compute on a local Dask cluster of N worker processes")
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="compute on the Dask cluster of this scheduler (tcp://HOST:PORT, "
                           "PORT in 1-65535)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sgldsim`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return float64(args.handler)(args)  # the command owns its computation: float64 on
    except ValueError as err:  # ConfigError and the package's argument checks: user-caused
        if args.debug:
            raise
        from .runner import ConfigError

        hint = "" if isinstance(err, ConfigError) else " (rerun with --debug for the traceback)"
        print(f"sgldsim: error: {' '.join(str(err).split())}{hint}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # a file the user named cannot be read or written
        if args.debug:
            raise
        where = f": {err.filename}" if err.filename else ""
        print(f"sgldsim: error: {err.strerror or err}{where} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sgldsim: interrupted; finished cells are saved in the run folder, rerun the same "
              "command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def list_command(args) -> int:
    from .runner import experiment_files, find_experiment

    paths = [Path(p) for p in args.paths]
    files = experiment_files() if not paths else [
        f for p in paths for f in (experiment_files(p) if p.is_dir() else [find_experiment(p)])]
    configs = _load_or_warn(files)
    if not configs:
        print("no experiments found", file=sys.stderr)
        return 0
    width = max(len(c.name) for c in configs)
    for config in configs:
        print(f"{config.name:<{width}}  {config.description}")
    return 0


def run_command(args) -> int:
    from .runner import (
        dask_executor,
        default_run_dir,
        find_experiment,
        load_experiment,
        run_experiment,
    )

    _use_agg()
    config = load_experiment(find_experiment(args.experiment))
    out_dir = args.out if args.out is not None else default_run_dir(config.name)
    with dask_executor(args.workers, args.scheduler) as executor:
        result = run_experiment(config, overrides=args.overrides, out_dir=out_dir,
                                seed=args.seed, executor=executor)
    print(result.summary.to_text())
    meta = result.metadata
    print(f"{meta['n_cells']} cells ({meta['n_cells_computed']} computed, "
          f"{meta['n_cells_reused']} reused) in {meta['wall_time_s']:.1f} s")
    print(f"run folder: {result.run_dir}")
    return 0


def figures_command(args) -> int:
    from .runner import dask_executor

    with dask_executor(args.workers, args.scheduler) as executor:
        return _figures(args, executor)


def _figures(args, executor) -> int:
    from .runner import (
        ConfigError,
        RunFolderConflict,
        experiment_files,
        find_experiment,
        load_experiment,
        run_experiment,
    )

    _use_agg()
    started = time.perf_counter()
    if args.only:
        configs = [load_experiment(find_experiment(name)) for name in args.only]
    else:
        configs = [c for c in _load_or_warn(experiment_files()) if c.figures]
    if not configs:
        print("no experiment has figures = true; nothing to do", file=sys.stderr)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for config in configs:
        run_dir = args.out / config.name
        if args.force and run_dir.exists():
            shutil.rmtree(run_dir)
        try:
            result = run_experiment(config, out_dir=run_dir, executor=executor)
        except RunFolderConflict as err:
            raise ConfigError(f"{run_dir} caches results of a different configuration "
                              f"({'; '.join(err.differences)}); rerun with --force to "
                              "recompute") from None
        copied = [shutil.copy2(p, args.out / f"{config.name}_{Path(p).name}")
                  for p in result.figures]
        result.results.to_csv(args.out / f"{config.name}_results.csv", index=False)
        counts = {v: sum(x.verdict == v for x in result.summary.verdicts)
                  for v in VERDICTS}
        meta = result.metadata
        print(f"{config.name}: {meta['n_cells']} cells ({meta['n_cells_computed']} computed, "
              f"{meta['n_cells_reused']} cached), {len(copied)} figure files, verdicts: "
              + ", ".join(f"{n} {v}" for v, n in counts.items()))
        for verdict in result.summary.verdicts:
            if verdict.verdict != "consistent":
                print(f"  [{verdict.verdict}] {verdict.claim}: {verdict.reason}")
    print(f"figures and results tables in {args.out}/; total wall time "
          f"{time.perf_counter() - started:.1f} s")
    return 0


def show_command(args) -> int:
    from .runner import ConfigError, load_run

    record = load_run(args.run_dir)
    if not record.finished:
        raise ConfigError(f"{args.run_dir} is not a finished run: {record.n_finished_cells} of "
                          f"{record.n_cells} cells done; rerun `sgldsim run "
                          f"{record.config.name} --out {args.run_dir}` with the same settings "
                          "to finish it")
    meta = record.metadata
    print(f"{record.config.name}: {record.config.description}")
    print(f"seed {meta['seed']}, {meta['n_cells']} cells, finished {meta['finished']}, "
          f"wall time {meta['wall_time_s']:.1f} s, sgldsim {meta['versions']['sgldsim']}, "
          f"jax {meta['versions']['jax']} ({meta['jax_backend']})")
    computed = meta.get("cells_computed", {})
    if "first" in computed:  # run folders from before the record have none
        print(f"cells computed {computed['first']} to {computed['last']}, "
              f"{computed['compute_s']:.1f} s of compute, sgldsim "
              f"{', '.join(computed['sgldsims'])}, jax {', '.join(computed['jaxs'])} "
              f"({', '.join(computed['jax_backends'])})"
              + (f"; {computed['n_cells_without_record']} cells without a record"
                 if computed["n_cells_without_record"] else ""))
    if meta["overrides"]:
        print(f"overrides: {' '.join(meta['overrides'])}")
    print()
    print(record.summary_text or "(no summary.txt)", end="")
    if record.figures:
        print("\nfigures: " + ", ".join(p.name for p in record.figures))
    return 0


def report_command(args) -> int:
    from .runner.report import stale_pages, write_results_pages

    if args.check:
        stale = stale_pages(args.runs, args.out, args.readme)
        for name in stale:
            path = args.readme if args.readme and name == args.readme.name else args.out / name
            print(f"{path} differs from its run folder", file=sys.stderr)
        if stale:
            readme = f" --readme {args.readme}" if args.readme else ""
            print(f"sgldsim: {len(stale)} stale pages; rerun `sgldsim report {args.runs} --out "
                  f"{args.out}{readme}`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_results_pages(args.runs, args.out, args.readme):
        print(path)
    return 0


def _load_or_warn(files) -> list:
    """The experiments of ``files``; each bad file is skipped with a one-line warning."""
    from .runner.registry import load_experiments

    configs, errors = load_experiments(files)
    for err in errors:
        print(f"sgldsim: warning: skipped: {' '.join(str(err).split())}", file=sys.stderr)
    return configs


def _use_agg() -> None:
    """Render with Agg, whatever the environment's default backend (figures are files)."""
    import matplotlib

    matplotlib.use("Agg")


if __name__ == "__main__":  # python -m sgldsim.cli, like python -m sgldsim
    raise SystemExit(main())
