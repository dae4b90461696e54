"""What an experiment concludes: a table, fitted quantities and verdicts on the paper's claims."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

VERDICTS = ("consistent", "inconsistent", "inconclusive")


class Verdict(NamedTuple):
    """A claim, whether the simulation is consistent with it, and why (numbers that ran)."""

    claim: str
    verdict: str
    reason: str


@dataclass(frozen=True)
class Summary:
    """An experiment's conclusions, written to ``summary.txt`` and ``summary.json``.

    Attributes:
      table: the results table as text (e.g. ``DataFrame.to_string``).
      fitted: fitted quantities by name, e.g. ``{"w2_exponent": 0.48}``.
      verdicts: ``Verdict(claim, verdict, reason)`` with verdict one of
        "consistent", "inconsistent", "inconclusive"; plain 3-tuples are accepted.
    """

    table: str
    fitted: dict[str, float] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)

    def __post_init__(self):
        verdicts = [Verdict(*v) for v in self.verdicts]
        for v in verdicts:
            if v.verdict not in VERDICTS:
                raise ValueError(f"verdict {v.verdict!r} for claim {v.claim!r} is not allowed; "
                                 f"allowed: {', '.join(VERDICTS)}")
        object.__setattr__(self, "verdicts", verdicts)
        object.__setattr__(self, "fitted", {k: float(x) for k, x in self.fitted.items()})

    def to_text(self) -> str:
        """The table, then fitted quantities, then one line per verdict."""
        lines = [self.table.rstrip(), ""]
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
        }
