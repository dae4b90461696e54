"""The API reference (docs/api) covers every public name, and every public name has a docstring.

The rules, checked on the package as imported (modules found with ``pkgutil.walk_packages``, so a
new module is checked without editing this file):

- A module is public when no part of its dotted name starts with "_" (``sgldsim.__main__`` is
  not). A page documents a module with ``.. api:: MODULE`` (docs/api/conf.py), and every public
  module under it with ``:recursive:``.
- Every public module is in the reference: documented itself, or an implementation module of a
  documented subpackage that defines ``__all__`` (``sgldsim.potentials.quadratic`` is covered by
  ``sgldsim.potentials``, whose ``__all__`` is that subpackage's public API). A new top-level
  module or a new subpackage has to be added to a page.
- Every name in the ``__all__`` of a public module is documented: some documented module
  (``:summary:`` excepted) exports the same object in its ``__all__`` or is that module; on the
  ``:summary:`` page (``sgldsim``) a name links to the subpackage that documents it, and one that
  no subpackage documents is rendered there in full. A module in ``__all__`` must be documented.
- Docstrings: a class or function in a public ``__all__`` has a non-empty docstring of its own
  (not the ``Name(field, ...)`` that NamedTuple and dataclasses make up); a module has a module
  docstring; a constant (any other value) has a docstring right after its assignment (or a
  ``#:`` comment before it) in the module that assigns it, which the reference shows.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import sgldsim

API = Path(__file__).resolve().parents[1] / "docs" / "api"
DIRECTIVE = re.compile(r"^\.\. api:: *(\S+) *\n((?:[ \t]+:[\w-]+:.*\n)*)", re.MULTILINE)

pytest.importorskip("sphinx")
sys.path.insert(0, str(API))
conf = importlib.import_module("conf")  # the reference's own helpers: what the pages render
sys.path.remove(str(API))


def public_modules() -> dict[str, object]:
    modules = {"sgldsim": sgldsim}
    for info in pkgutil.walk_packages(sgldsim.__path__, "sgldsim."):
        if conf.is_public(info.name):
            modules[info.name] = importlib.import_module(info.name)
    return modules


MODULES = public_modules()


def api_directives(texts: list[str]) -> dict[str, set[str]]:
    """Module -> options of the ``.. api::`` directives in the given page sources."""
    found: dict[str, set[str]] = {}
    for text in texts:
        for match in DIRECTIVE.finditer(text + "\n"):
            options = set(re.findall(r":([\w-]+):", match.group(2)))
            found.setdefault(match.group(1), set()).update(options)
    return found


def documented(directives: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    """(modules documented in full, modules documented as a summary)."""
    full, summary = set(), set()
    for name, options in directives.items():
        if "summary" in options:
            summary.add(name)
        elif "recursive" in options:
            full.update(m for m in MODULES if m == name or m.startswith(name + "."))
        else:
            full.add(name)
    return full, summary


def coverage_problems(texts: list[str]) -> list[str]:
    """Public modules and ``__all__`` names that the given page sources leave out."""
    full, summary = documented(api_directives(texts))
    problems = []
    for name in MODULES:
        parent = name.rpartition(".")[0]
        implementation = (parent in full and parent != "sgldsim"
                          and hasattr(MODULES[parent], "__all__"))
        if name not in full | summary and not implementation:
            problems.append(f"module {name} is on no page of docs/api")
    for name, module in MODULES.items():
        homes = conf.subpackage_exports(name) if name in summary else {}
        for export in getattr(module, "__all__", ()):
            obj = getattr(module, export)
            if inspect.ismodule(obj):
                ok = obj.__name__ in full
            elif name in summary:
                ok = export not in homes or homes[export] in full
            else:
                ok = any(d == name or (export in conf.module_names(MODULES[d])
                                       and getattr(MODULES[d], export, None) is obj)
                         for d in full if d in MODULES)
            if not ok:
                problems.append(f"{name}.{export} is in no documented module")
    return problems


def page_sources() -> list[str]:
    return [path.read_text() for path in sorted(API.glob("*.rst"))]


def test_every_public_module_and_name_is_in_the_reference():
    assert coverage_problems(page_sources()) == []


@pytest.mark.parametrize("page", ["potentials.rst", "experiments.rst", "coupling.rst"])
def test_a_page_taken_out_leaves_its_names_undocumented(page):
    texts = [path.read_text() for path in sorted(API.glob("*.rst")) if path.name != page]
    problems = coverage_problems(texts)
    for module in api_directives([(API / page).read_text()]):
        assert f"module {module} is on no page of docs/api" in problems


def test_a_new_top_level_module_must_be_added_to_a_page(monkeypatch):
    fake = type(sys)("sgldsim.newly_added")
    fake.__doc__ = "Verdict functions."
    monkeypatch.setitem(MODULES, "sgldsim.newly_added", fake)
    problems = coverage_problems(page_sources())
    assert problems == ["module sgldsim.newly_added is on no page of docs/api"]


def _own_docstring(obj) -> str:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        generated = doc.startswith(f"{obj.__name__}(")  # NamedTuple's and dataclass's stand-in
        return "" if generated else doc.strip()
    return (inspect.getdoc(obj) or "").strip()


def missing_docstrings() -> list[str]:
    missing = []
    for name, module in MODULES.items():
        if not (module.__doc__ or "").strip():
            missing.append(f"module {name}")
        for export in getattr(module, "__all__", ()):
            obj = getattr(module, export)
            if inspect.ismodule(obj):
                continue  # checked as a module
            if conf.is_constant(obj):
                if not conf.constant_doc(name, export):
                    missing.append(f"constant {name}.{export}")
            elif not _own_docstring(obj):
                missing.append(f"{name}.{export}")
    return missing


def test_every_public_name_has_a_docstring():
    assert missing_docstrings() == []


def test_generated_class_docstrings_do_not_count():
    from typing import NamedTuple

    class Pair(NamedTuple):
        a: int
        b: int

    class Documented(NamedTuple):
        """Two numbers."""

        a: int

    assert _own_docstring(Pair) == "" and _own_docstring(Documented) == "Two numbers."


@pytest.mark.parametrize("text, expected", [
    ("|u - u_ref| on (*cell, N, d)", r"\|u - u_ref\| on (\*cell, N, d)"),
    ("pi* and x * y, the *mean* loss", "pi* and x * y, the *mean* loss"),
    ("``|x|``, :func:`a` and **kwargs", r"``|x|``, :func:`a` and \*\*kwargs"),
    ("e_- + e_+", r"e\_- + e\_+"),
])
def test_plain_maths_is_escaped_outside_markup(text, expected):
    assert conf.escape_plain_maths(text) == expected


def test_literal_blocks_are_left_alone():
    lines = ["Example::", "", "    a = |x| * 2", "", "after |x|"]
    assert conf.escape_docstring(lines) == ["Example::", "", "    a = |x| * 2", "", r"after \|x\|"]
