"""What an experiment concludes: a table, fitted quantities and verdicts on the paper's claims."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..verdicts import VERDICTS, Verdict

UPPER_BOUND = (
    "an upper bound y = O(x^q) with an unknown constant is judged on its rate\n"
    "(sgldsim.verdicts.power_law_bound): inconsistent when the measured exponent lies on the\n"
    "wrong side of q beyond the one-sided level-0.01 quantile of its error (normal with known\n"
    "errors, Student's t from the fit's residuals); consistent when the data exclude, at that\n"
    "level, a violation of q's full size; untestable when the design could not show a violating\n"
    "exponent (the reason says why, e.g. a negative term under an upper bound); inconclusive\n"
    "otherwise (too few points above the floor, errors too large, the regime not reached). An\n"
    "exponential transient (sgldsim.verdicts.exponential_decay) is inconsistent when\n"
    "log(y - floor) is convex in t (slower than exponential: a power law, 1 / log t) or\n"
    "y - floor grows, at level 0.01 over the step sizes")
"""What "consistent" means for the paper's upper bounds; experiments add it to their legend."""


@dataclass(frozen=True)
class Summary:
    """An experiment's conclusions, written to ``summary.txt`` and ``summary.json``.

    Attributes:
      table: the results table as text (e.g. ``DataFrame.to_string``).
      fitted: fitted quantities by name, e.g. ``{"w2_exponent": 0.48}``.
      verdicts: :class:`sgldsim.verdicts.Verdict` ``(claim, verdict, reason)`` with verdict
        one of :data:`sgldsim.verdicts.VERDICTS` ("consistent", "inconsistent", "inconclusive",
        "untestable"); plain 3-tuples are accepted.
      legend: what each column of the table (or any other term) means, by name; printed
        under the table.
    """

    table: str
    fitted: dict[str, float] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    legend: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        verdicts = [Verdict(*v) for v in self.verdicts]
        for v in verdicts:
            if v.verdict not in VERDICTS:
                raise ValueError(f"verdict {v.verdict!r} for claim {v.claim!r} is not allowed; "
                                 f"allowed: {', '.join(VERDICTS)}")
        object.__setattr__(self, "verdicts", verdicts)
        object.__setattr__(self, "fitted", {k: float(x) for k, x in self.fitted.items()})
        object.__setattr__(self, "legend", {str(k): str(v) for k, v in self.legend.items()})

    def to_text(self) -> str:
        """The table, its legend, then fitted quantities, then one line per verdict."""
        lines = [self.table.rstrip(), ""]
        if self.legend:
            lines.append("legend:")
            width = max(map(len, self.legend))
            for name, text in self.legend.items():
                first, *rest = text.split("\n")
                lines.append(f"  {name:<{width}}  {first}")
                lines += [f"  {'':<{width}}  {more}" for more in rest]
            lines.append("")
        if self.fitted:
            lines.append("fitted:")
            width = max(map(len, self.fitted))
            lines += [f"  {name:<{width}} = {value:.6g}" for name, value in self.fitted.items()]
            lines.append("")
        if self.verdicts:
            lines.append("verdicts:")
            lines += [f"  [{v.verdict}] {v.claim}: {v.reason}" for v in self.verdicts]
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> dict:
        """A JSON-ready dict (non-finite fitted values become null)."""
        return {
            "table": self.table,
            "fitted": {k: (v if math.isfinite(v) else None) for k, v in self.fitted.items()},
            "verdicts": [v._asdict() for v in self.verdicts],
            "legend": dict(self.legend),
        }
