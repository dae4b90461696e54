"""Where experiment definitions live: ``experiments/*.toml`` next to the ``sgldsim`` package."""

from __future__ import annotations

from pathlib import Path

from ._config import ConfigError, ExperimentConfig, load_experiment


def experiments_folder() -> Path:
    """The repository's top-level ``experiments/`` folder: ``Path(sgldsim.__file__).parents[1]``."""
    return Path(__file__).resolve().parents[2] / "experiments"


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
