"""Warnings attributed to the user's code: the first frame outside the package."""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` with the stack level of the first caller outside
    sgldsim, whatever the depth of the package's own frames (helpers, the float64 wrapper of
    :mod:`sgldsim._precision`), so the warning names the user's line (as Python 3.12's
    ``skip_file_prefixes`` does)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
