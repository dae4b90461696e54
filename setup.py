"""Package layout that pyproject.toml cannot express: the top-level ``experiments/*.toml`` (the
user-facing definitions) are installed as package data ``sgldsim/experiments/definitions/``, so
a non-editable install (``pip install .``, a wheel) has every experiment; new TOMLs need no
listing here."""

from setuptools import find_packages, setup

DEFINITIONS = "sgldsim.experiments.definitions"

setup(
    packages=[*find_packages(include=["sgldsim*"]), DEFINITIONS],
    package_dir={DEFINITIONS: "experiments"},
    package_data={DEFINITIONS: ["*.toml"]},
)
