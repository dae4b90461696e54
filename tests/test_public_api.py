"""Modules outside ``sgldsim.optim`` use only its public names: no import of a private
``sgldsim.optim._*`` module, absolute or relative, anywhere in sgldsim/, tests/ or benchmarks/."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIM = ROOT / "sgldsim" / "optim"


def _package(path: Path) -> list[str]:
    """The dotted package a module under ROOT belongs to, as parts (``[]`` outside sgldsim)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[0] == "sgldsim" else []


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of ``from <module> import ...``, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = _package(path)
    base = package[:len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_optim_imports(path: Path, source: str | None = None) -> list[str]:
    """Each import in ``path`` (or in ``source``, read as if it were ``path``) of a private
    module of sgldsim.optim, as ``line: module``."""
    tree = ast.parse(path.read_text() if source is None else source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(path, node)
            modules = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["sgldsim", "optim"] and any(p.startswith("_") and p != "__init__"
                                                        for p in parts[2:]):
                found.append(f"{node.lineno}: {module}")
    return found


def _modules() -> list[Path]:
    paths = [*(ROOT / "sgldsim").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
             *(ROOT / "benchmarks").rglob("*.py")]
    return sorted(p for p in paths if OPTIM not in p.parents)


def test_no_module_outside_optim_imports_a_private_optim_module():
    offenders = {str(p.relative_to(ROOT)): hits for p in _modules()
                 if (hits := private_optim_imports(p))}
    assert offenders == {}


@pytest.mark.parametrize("module, source", [
    ("sgldsim/pinn/train.py", "from ..optim._two_term import term_gradients\n"),
    ("sgldsim/pinn/train.py", "from ..optim import _tree\n"),
    ("sgldsim/pinn/train.py", "from .. import optim\nfrom ..optim import _checks as c\n"),
    ("sgldsim/experiments/dcgd/pinn_dcgd.py", "from ...optim._tree import add_scaled\n"),
    ("sgldsim/__init__.py", "from .optim._tree import reject\n"),
    ("sgldsim/nn/train.py", "import sgldsim.optim._checks\n"),
    ("tests/test_x.py", "from sgldsim.optim._tree import add_scaled\n"),
    ("tests/test_x.py", "from sgldsim.optim import _tree\n"),
    ("benchmarks/x.py", "def f():\n    from sgldsim.optim._checks import check_choice\n"),
])
def test_checker_finds_private_imports(module, source):
    assert private_optim_imports(ROOT / module, source)


@pytest.mark.parametrize("module, source", [
    ("sgldsim/pinn/train.py", "from ..optim import term_gradients, two_term_rule\n"),
    ("sgldsim/pinn/train.py", "from ..optim.two_term import term_gradients\n"),
    ("sgldsim/pinn/train.py", "from .._validation import check_choice\n"),  # sgldsim._validation
    ("sgldsim/pinn/train.py", "from ._base import PinnProblem\n"),  # sgldsim.pinn._base
    ("tests/test_x.py", "from sgldsim import optim\nfrom sgldsim.optim import dual_cone\n"),
])
def test_checker_accepts_public_imports(module, source):
    assert private_optim_imports(ROOT / module, source) == []
