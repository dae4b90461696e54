"""Figures: the shared style and helpers every experiment's ``figures`` function uses."""

from .style import (
    COLORS,
    COLUMN_WIDTH_IN,
    LABELS,
    MEASURES,
    PAGE_WIDTH_IN,
    STYLED_METHODS,
    PowerLawFit,
    add_reference_slope,
    color_for,
    fit_power_law,
    new_figure,
    paper_style,
    save_figure,
    style_for,
)

__all__ = [
    "COLORS",
    "COLUMN_WIDTH_IN",
    "LABELS",
    "MEASURES",
    "STYLED_METHODS",
    "PAGE_WIDTH_IN",
    "PowerLawFit",
    "add_reference_slope",
    "color_for",
    "fit_power_law",
    "new_figure",
    "paper_style",
    "save_figure",
    "style_for",
]
