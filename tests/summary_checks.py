"""Checks shared by the experiment tests: every column a summary shows is in its legend."""

from __future__ import annotations

import re

TOKEN = re.compile(r"(?<![\w*])[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*")
"""Column-like names: identifiers with an underscore (``quadrature_floor``, ``flat_mass_pi_f``)."""


def _key_patterns(legend: dict[str, str]) -> list[re.Pattern]:
    """Each name in a legend key ("a, b", "exact_w<p>_chain_<target>", "flat_mass_*") as a regex:
    ``<...>`` stands for one word, ``*`` for any word characters."""
    parts = [part for key in legend for part in re.split(r"[,\s]+", key) if part]
    return [re.compile(re.sub(r"<[^>]*>", r"\\w+", re.escape(part).replace(r"\*", r"\w*")
                              .replace(r"\<", "<").replace(r"\>", ">")))
            for part in parts]


def undocumented_columns(summary) -> set[str]:
    """Column-like names in the summary's table (header lines, not titles or prose: lines with
    ": " or ending in ":" are skipped) that no legend key names."""
    patterns = _key_patterns(summary.legend)
    names = {token for line in summary.table.splitlines()
             if ": " not in line and not line.rstrip().endswith(":")
             for token in TOKEN.findall(line)}
    return {n for n in names if not any(p.fullmatch(n) for p in patterns)}
