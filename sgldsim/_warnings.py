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


class SlowComputationWarning(UserWarning):
    """A computation whose estimated time exceeds :data:`SLOW_SECONDS` (an O(N^2) kernel sum, an
    exact transport problem) is about to start: the estimate and what to lower, before the wait."""


SLOW_SECONDS = 60.0
"""Estimated seconds above which a computation warns before it starts."""


def warn_if_slow(seconds: float, what: str, hint: str) -> None:
    """A :class:`SlowComputationWarning` (named at the user's line) when ``seconds`` exceeds
    :data:`SLOW_SECONDS`: ``"<what> will take about <time> (estimated); <hint>"``."""
    if seconds > SLOW_SECONDS:
        shown = f"{seconds / 60:.3g} min" if seconds < 3600 else f"{seconds / 3600:.3g} h"
        warn_caller(f"{what} will take about {shown} (estimated); {hint}",
                    SlowComputationWarning)
