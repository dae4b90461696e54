"""One figure style for every experiment: sizes, fonts, a colour per method and per measure.

Figures are built on ``matplotlib.figure.Figure`` (via :func:`new_figure`), not pyplot, so no
GUI backend or global figure registry is involved; PNG and PDF are rendered by Agg and the PDF
backend. Draw inside ``with paper_style():`` (the runner wraps an experiment's ``figures`` in it)
so that fonts and sizes apply.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure

COLUMN_WIDTH_IN = 3.25
"""Width of one column of a two-column paper (ICML), inches."""
PAGE_WIDTH_IN = 6.75
"""Width of the text block across both columns, inches."""

STYLED_METHODS = ("fsgld", "sgld", "rwp", "sam", "asam", "sgd", "gd")
"""The methods with a house colour and label, in the order of the default colour cycle."""
MEASURES = ("pi_beta", "pi_f", "pi_star")
"""The exact measures the figures know: pi_beta (Gibbs), pi_f (smoothed), pi_star (pi*)."""

# Paul Tol's colour-blind-safe palettes; fSGLD gets the strongest colour, each measure a colour
# of its own (a method and its limiting measure are told apart by colour, not only line style).
COLORS = {
    "fsgld": "#CC3311", "sgld": "#0077BB", "rwp": "#EE7733", "sam": "#009988",
    "asam": "#33BBEE", "sgd": "#777777", "gd": "#000000",
    "pi_beta": "#004488", "pi_f": "#EE3377", "pi_star": "#AA3377",
}
"""Colour of each method and measure (:func:`color_for`)."""
LABELS = {
    "fsgld": "fSGLD", "sgld": "SGLD", "rwp": "RWP", "sam": "SAM", "asam": "ASAM",
    "sgd": "SGD", "gd": "GD",
    "pi_beta": r"$\pi_\beta$", "pi_f": r"$\pi^f_{\beta,\sigma}$",
    "pi_star": r"$\pi^*_{\beta,\sigma}$",
}
"""Legend label of each method and measure (TeX for the measures)."""

RC_PARAMS = {
    "figure.figsize": (COLUMN_WIDTH_IN, 0.75 * COLUMN_WIDTH_IN),
    "font.family": "serif",
    "font.size": 8,
    "mathtext.fontset": "cm",
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "axes.prop_cycle": cycler(color=[COLORS[m] for m in STYLED_METHODS]),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "savefig.dpi": 200,  # PNG is for screens; the PDF is vector
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # embed TrueType: editable text, accepted by publishers
}

# Fixed metadata so that the same figure gives the same bytes on every run.
_FILE_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Creator": None}}


@contextmanager
def paper_style() -> Iterator[None]:
    """Apply :data:`RC_PARAMS` within the block."""
    with mpl.rc_context(RC_PARAMS):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, width_in: float = COLUMN_WIDTH_IN,
               aspect: float = 0.75, **subplots_kw) -> tuple[Figure, object]:
    """A figure ``width_in`` wide and ``aspect * width_in / ncols * nrows`` tall, and its axes.

    Returns:
      ``(fig, axes)`` as from ``Figure.subplots`` (one Axes, or an array of them).
    """
    height = aspect * width_in / ncols * nrows
    fig = Figure(figsize=(width_in, height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, **subplots_kw)


def color_for(name: str) -> str:
    """The colour of a method (``fsgld``, ``sgld``, ...) or measure (``pi_beta``, ...)."""
    if name not in COLORS:
        raise ValueError(f"no colour for {name!r}; allowed: {', '.join(COLORS)}")
    return COLORS[name]


def style_for(name: str) -> dict:
    """``ax.plot`` keywords for a method or measure: colour, label, and a dashed line for
    measures (exact curves) against solid for methods (simulations)."""
    return {"color": color_for(name), "label": LABELS[name],
            "linestyle": "--" if name in MEASURES else "-"}


def save_figure(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``<out_dir>/<stem>.png`` and ``<out_dir>/<stem>.pdf`` in the paper style.

    Returns:
      The two paths, PNG first.
    """
    if not stem or Path(stem).name != stem or "." in stem:
        raise ValueError(f"figure stem {stem!r} is not allowed: it must be a file name without "
                         "folders or extension")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{ext}" for ext in ("png", "pdf")]
    # Embedding the Computer Modern maths fonts in a PDF makes fontTools warn that their 1990s
    # timestamps "seem very low": harmless, so hidden while saving.
    font_logger = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    level = font_logger.level
    font_logger.setLevel(logging.ERROR)
    try:
        with paper_style():
            for path in paths:
                fig.savefig(path, format=path.suffix[1:],
                            metadata=_FILE_METADATA[path.suffix[1:]])
    finally:
        font_logger.setLevel(level)
    return paths


def add_reference_slope(ax, x, exponent: float, anchor: tuple[float, float], label: str):
    """Draw ``y = y0 (x / x0)^exponent`` through ``anchor = (x0, y0)`` over ``x``: the rate a
    bound predicts, beside measured points on log-log axes.

    Returns:
      The drawn ``Line2D``.
    """
    x = np.asarray(x, dtype=float)
    x0, y0 = anchor
    (line,) = ax.plot(x, y0 * (x / x0) ** exponent, color="0.45", linestyle=":", linewidth=1.0,
                      label=label)
    return line


class PowerLawFit(NamedTuple):
    """``y ≈ prefactor * x^exponent``; ``stderr`` is the exponent's standard error."""

    exponent: float
    prefactor: float
    stderr: float


def fit_power_law(x, y) -> PowerLawFit:
    """Least-squares fit of ``log y = log C + p log x``.

    The standard error of p is ``sqrt(RSS / (n - 2) / sum (log x - mean log x)^2)`` (ordinary
    least squares); it is nan for n = 2 points.

    Returns:
      ``(exponent, prefactor, stderr)``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"fit_power_law needs two 1-D arrays of equal length >= 2; got shapes "
                         f"{x.shape} and {y.shape}")
    for name, values in (("x", x), ("y", y)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"fit_power_law: {name}={np.array2string(values, threshold=8)} is "
                             f"not allowed: every {name} must be positive and finite")
    if np.ptp(x) == 0:
        raise ValueError("fit_power_law: all x are equal; the exponent is undefined")
    log_x, log_y = np.log(x), np.log(y)
    centred = log_x - log_x.mean()
    exponent = float(centred @ (log_y - log_y.mean()) / (centred @ centred))
    intercept = float(log_y.mean() - exponent * log_x.mean())
    residuals = log_y - intercept - exponent * log_x
    n = x.size
    stderr = float(np.sqrt(residuals @ residuals / (n - 2) / (centred @ centred))) if n > 2 \
        else float("nan")
    return PowerLawFit(exponent, float(np.exp(intercept)), stderr)
