"""Where experiment definitions live, and the parameters each experiment module takes.

The user-facing definitions are the ``experiments/*.toml`` files at the repository's top level.
A non-editable install (``pip install .``, a wheel) carries a copy of them as package data in
``sgldsim/experiments/definitions/`` (``setup.py`` maps that package to ``experiments/``), so every
TOML there is installed without being listed anywhere.
"""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, ExperimentConfig, load_experiment

PACKAGED_FOLDER = Path(__file__).resolve().parents[1] / "experiments" / "definitions"
"""The definitions installed with the package (absent in a source checkout)."""
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def experiments_folder() -> Path:
    """The experiment definitions: the installed copy if there is one, else the repository's
    top-level ``experiments/`` folder (a source checkout or an editable install)."""
    if any(PACKAGED_FOLDER.glob("*.toml")):
        return PACKAGED_FOLDER
    return REPOSITORY_ROOT / "experiments"


def experiment_files(folder: Path | None = None) -> list[Path]:
    """The experiment TOML files of ``folder`` (default: :func:`experiments_folder`), by name."""
    folder = experiments_folder() if folder is None else Path(folder)
    return sorted(folder.glob("*.toml"))


def find_experiment(name_or_path: str | Path) -> Path:
    """The TOML file of an experiment given by name (``coupling``) or by path (``a/b.toml``)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise ConfigError(f"experiment file {path} does not exist")
        return path
    candidate = experiments_folder() / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    names = ", ".join(p.stem for p in experiment_files()) or "none"
    raise ConfigError(f"unknown experiment {str(name_or_path)!r}; available: {names} "
                      "(or give the path to a .toml file)")


def list_experiments(folder: Path | None = None) -> list[ExperimentConfig]:
    """The experiment definitions of ``folder`` (default: :func:`experiments_folder`), by name."""
    return [load_experiment(p) for p in experiment_files(folder)]


def load_experiments(files: list[Path]) -> tuple[list[ExperimentConfig], list[ConfigError]]:
    """Load each file; a bad one is returned as its error instead of stopping the others."""
    configs, errors = [], []
    for path in files:
        try:
            configs.append(load_experiment(path))
        except ConfigError as err:
            errors.append(err)
    return configs, errors
