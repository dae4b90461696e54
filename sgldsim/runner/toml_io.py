"""A TOML writer for resolved configurations (``tomllib`` only reads).

Covers what experiment definitions may hold: strings, booleans, integers, floats (including
inf and nan), lists of these, and one level of tables. Floats are written with ``repr`` so that
reading the file back gives the same float bit for bit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_value(value) -> str:
    """TOML text of one value, e.g. ``1.0``, ``"fsgld"``, ``[10, 100]``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # 'inf', '-inf', '1e-05', '0.1': all valid TOML floats
    if isinstance(value, str):
        # JSON string escapes are valid TOML basic-string escapes; TOML also forbids raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def format_key(key: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    return key if _BARE_KEY.match(key) else format_value(key)


def dumps(document: Mapping) -> str:
    """TOML text of a mapping whose values are scalars, lists, or tables of those."""
    scalars = [(k, v) for k, v in document.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in document.items() if isinstance(v, Mapping)]
    lines = [f"{format_key(k)} = {format_value(v)}" for k, v in scalars]
    for name, table in tables:
        lines += ["", f"[{format_key(name)}]"]
        for k, v in table.items():
            if isinstance(v, Mapping):
                raise TypeError(f"nested table {name}.{k} is not supported")
            lines.append(f"{format_key(k)} = {format_value(v)}")
    return "\n".join(lines) + "\n"
