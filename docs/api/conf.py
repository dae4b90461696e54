"""Sphinx configuration of the API reference.

Build (offline, warnings as errors; CI does this in ``.ci/run``)::

    pip install -e '.[docs]'
    sphinx-build -W --keep-going -b html docs/api build/api

Every page documents modules with one directive, ``.. api:: MODULE``, defined below:

- ``.. api:: sgldsim.potentials`` documents the module's public names (its ``__all__``, else the
  public functions and classes it defines) with ``automodule :members:``, and its constants
  (``__all__`` names that are neither functions, classes nor modules) with the docstring that
  follows their assignment in the module that assigns them (autodoc finds those only in the
  module being documented, so re-exported constants would otherwise be dropped);
- ``:recursive:`` does the same for every public submodule, found with ``pkgutil.walk_packages``
  (so a new experiment module needs no edit here);
- ``:summary:`` (the top-level ``sgldsim`` page) lists the ``__all__`` names that a public
  subpackage also exports as links to that subpackage's entry, and documents the rest in full.

``tests/test_api_docs.py`` checks that every name of every public ``__all__`` is documented this
way and has a docstring.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import typing

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

project = "sgldsim"
author = "sgldsim contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False  # the package writes Google style; "Returns\n-------" is rst
napoleon_use_rtype = False
napoleon_use_ivar = True  # an "Attributes:" section is a field list, not a second description


def is_public(name: str) -> bool:
    """A module is public when no part of its dotted name starts with an underscore."""
    return not any(part.startswith("_") for part in name.split("."))


def public_modules(package: str) -> list[str]:
    """``package`` and, if it is a package, its public submodules at any depth, sorted."""
    module = importlib.import_module(package)
    names = [package]
    if hasattr(module, "__path__"):
        names += sorted(info.name for info in pkgutil.walk_packages(module.__path__, package + ".")
                        if is_public(info.name))
    return names


def is_constant(obj) -> bool:
    """Exported values documented as data: neither functions, classes nor modules (type aliases
    such as ``Callable[..., X]`` are data too)."""
    if inspect.isclass(obj) or inspect.ismodule(obj):
        return False
    return not callable(obj) or typing.get_origin(obj) is not None


def constant_doc(module_name: str, name: str) -> str:
    """The docstring after ``name = ...`` (or its ``#:`` comment) in the module that assigns the
    constant ``module_name.name``: the module itself or, for a package, one of its submodules."""
    obj = getattr(importlib.import_module(module_name), name)
    module = importlib.import_module(module_name)
    candidates = [module_name]
    if hasattr(module, "__path__"):
        candidates += [info.name for info in pkgutil.walk_packages(module.__path__,
                                                                    module_name + ".")
                       if not info.name.endswith(".__main__")]  # importing it runs the CLI
    for candidate in candidates:
        if getattr(importlib.import_module(candidate), name, None) is not obj:
            continue
        docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        if ("", name) in docs:
            return "\n".join(docs[("", name)]).strip()
    return ""


def module_names(module) -> list[str]:
    """What ``automodule :members:`` documents: ``__all__``, else the public functions and
    classes that the module defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items() if not name.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__]


def subpackage_exports(root: str) -> dict[str, str]:
    """Names of ``root.__all__`` mapped to the public subpackage or module of ``root`` that also
    documents them (the same object, see :func:`module_names`): their home in the reference."""
    module = importlib.import_module(root)
    homes = {}
    for info in pkgutil.iter_modules(module.__path__, root + "."):
        if not is_public(info.name):
            continue
        sub = importlib.import_module(info.name)
        for name in module_names(sub):
            if name in module.__all__ and getattr(module, name) is getattr(sub, name):
                homes.setdefault(name, info.name)
    return homes


def _summary(text: str) -> str:
    first = text.strip().split("\n\n")[0]
    return " ".join(first.split())


class ApiDirective(SphinxDirective):
    """``.. api:: MODULE`` with options ``:recursive:`` and ``:summary:`` (see the module doc)."""

    required_arguments = 1
    option_spec = {"recursive": directives.flag, "summary": directives.flag}

    def run(self) -> list[nodes.Node]:
        root = self.arguments[0]
        lines: list[str] = []
        if "summary" in self.options:
            lines += self._summary_lines(root)
        elif "recursive" in self.options:
            for name in public_modules(root):
                title = f"``{name}``"
                lines += [title, "-" * len(title), ""] + self._module_lines(name)
        else:
            lines += self._module_lines(root)
        node = nodes.section() if "recursive" in self.options else nodes.container()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=self.get_source_info()[0]),
                                 node)
        return node.children

    def _module_lines(self, name: str) -> list[str]:
        module = importlib.import_module(name)
        constants = [n for n in getattr(module, "__all__", ()) if is_constant(getattr(module, n))]
        lines = [f".. automodule:: {name}", "   :members:"]
        if constants:
            lines.append(f"   :exclude-members: {', '.join(constants)}")
        lines.append("")
        for constant in constants:
            lines += _constant_lines(name, constant)
        return lines

    def _summary_lines(self, root: str) -> list[str]:
        module = importlib.import_module(root)
        homes = subpackage_exports(root)
        lines = [f".. automodule:: {root}", ""]
        linked = [n for n in module.__all__
                  if n in homes or inspect.ismodule(getattr(module, n))]
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", "",
                  "   * - name", "     - documented in"]
        for name in linked:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                role, target = "mod", obj.__name__
            else:
                role, target = "obj", f"{homes[name]}.{name}"
            doc = escape_plain_maths(_summary(inspect.getdoc(obj) or ""))
            lines += [f"   * - :py:{role}:`{root}.{name} <{target}>`",
                      f"     - {doc}" if doc else "     -"]
        lines.append("")
        for name in module.__all__:
            if name in linked:
                continue
            obj = getattr(module, name)
            if is_constant(obj):
                lines += _constant_lines(root, name)
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: {root}.{name}", "   :members:", ""]
            else:
                lines += [f".. autofunction:: {root}.{name}", ""]
        return lines


def _constant_lines(module: str, name: str) -> list[str]:
    value = getattr(importlib.import_module(module), name)
    lines = [f".. py:data:: {module}.{name}", f"   :value: {_short_repr(value)}", ""]
    doc = "\n".join(escape_docstring(constant_doc(module, name).splitlines()))
    return lines + ["   " + line if line else "" for line in doc.splitlines()] + [""]


# Docstrings write their maths in plain text (|x|, pi*, (*cell, N, d)), as help() shows it. In
# reStructuredText "|" opens a substitution and "*" emphasis, so the reference escapes both
# wherever they are not markup: outside ``literals``, `roles`, literal blocks and doctests, and,
# for "*", outside an *emphasised phrase* (a phrase of words between two stars); a "_" that ends
# a word (e_-, a subscript) would make the word a reference and is escaped too.
_KEEP = re.compile(r"``.+?``|:[\w:.-]+:`[^`]*`|`[^`]*`_{0,2}|"
                   r"(?<![\w*\\])\*\w[\w\s-]*?(?<![\s\\])\*(?![\w*])")
_EMPHASIS_START = re.compile(r"(?:^|(?<=[\s(\[{<'\"/:-]))\*+(?=\S)")


def escape_plain_maths(text: str) -> str:
    """``text`` (one line of reStructuredText) with "|" and every "*" that would open emphasis
    without an emphasised phrase escaped; literals, roles and emphasised phrases are kept."""
    out, start = [], 0
    for match in _KEEP.finditer(text):
        out.append(_escape_span(text[start:match.start()]))
        out.append(match.group(0))
        start = match.end()
    out.append(_escape_span(text[start:]))
    return "".join(out)


def _escape_span(span: str) -> str:
    span = span.replace("|", "\\|")
    span = re.sub(r"(?<=\w)_(?=$|\W)", r"\\_", span)  # e_-, e_+: subscripts, not references
    return _EMPHASIS_START.sub(lambda m: "\\*" * len(m.group(0)), span)


def escape_docstring(lines: list[str]) -> list[str]:
    """:func:`escape_plain_maths` on every line outside literal blocks (after ``::``) and
    doctest blocks (``>>>``)."""
    out, literal_indent = [], None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None and line.strip() and indent <= literal_indent:
            literal_indent = None
        if literal_indent is not None or line.lstrip().startswith(">>>"):
            out.append(line)
            continue
        out.append(escape_plain_maths(line))
        if line.rstrip().endswith("::"):
            literal_indent = indent
    return out


def _escape_docstring_event(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = escape_docstring(lines)


def _short_repr(value, limit: int = 100) -> str:
    text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def setup(app):
    app.add_directive("api", ApiDirective)
    # after napoleon (priority 500), so its field lists are escaped as the text they hold
    app.connect("autodoc-process-docstring", _escape_docstring_event, priority=600)
    return {"parallel_read_safe": True}

