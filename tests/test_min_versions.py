"""The pinned minimum versions that CI tests (.ci/min-versions.txt) are the floors that
pyproject.toml declares, so the floors are the versions actually tested."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def declared_floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    floors = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,-]+\])?>=([0-9][0-9A-Za-z.]*)",
                             requirement.strip())
        assert match, f"{requirement!r}: every dependency needs a floor 'name[extras]>=version'"
        floors[match[1].lower()] = match[3]
    return floors


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "min-versions.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split(".post")[0]))


def test_every_floor_is_pinned_at_its_floor():
    floors, pins = declared_floors(), pinned()
    untested = {"ruff"}  # a linter: any version, not imported by the package or its tests
    for name, floor in floors.items():
        if name in untested:
            continue
        assert name in pins, f"{name}>={floor} has no pinned minimum in .ci/min-versions.txt"
        # equal up to trailing zeros and a post-release (mnist1d publishes 0.0.2.post1 only)
        a, b = release(pins[name]), release(floor)
        width = max(len(a), len(b))
        assert a + (0,) * (width - len(a)) == b + (0,) * (width - len(b)), (name, floor, pins[name])
