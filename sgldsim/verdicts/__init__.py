"""Verdicts: does simulated data agree with a claim? One function per kind of claim.

Every function states its null hypothesis (what "the claim holds" means for the data), its
threshold (a default level) and its power, and returns a :class:`Verdict` with the numbers that
decided it, next to the fitted quantities:

- :func:`exponential_decay`: "y decays exponentially to the floor" (the transients of Thm 3.5
  and Thm 3.8 of the fSGLD paper, docs/theory.md §4);
- :func:`power_law_bound`: "y = O(x^q)" as x -> 0 or x -> infinity (Thm 3.5: W1 = O(lam^(1/2)),
  W2 = O(lam^(1/4)); Thm 3.8; Prop. 3.4; docs/theory.md §4);
- :func:`paired_comparison`: "method a beats method b" from paired runs, with a between-unit
  (random-effects) standard error when the runs come from several test domains, tasks or cells;
- :func:`matches_reference`: "each measured value equals its exact reference" (a simulation
  against a closed form or an exact law, cell by cell).
- :func:`z_test`: the sign of (or agreement with 0 of) one or more estimates that come with
  their own standard errors (a binomial proportion, a U-statistic), with a Bonferroni level.

A verdict is one of :data:`VERDICTS`:

- "consistent": the data agree with the claim and could have shown a violation of the stated
  size;
- "inconsistent": the data contradict the claim beyond the stated level (a false alarm on data
  that satisfy the claim happens at most at that rate);
- "inconclusive": the data are too noisy, too few, or outside the regime the claim speaks about;
- "untestable": the design could not have violated the claim whatever the truth; the reason says
  why (e.g. the largest exponent the data's range can show).

Only NumPy and SciPy are used: verdicts run on summaries, never inside a simulation.
"""

from ._common import VERDICTS, Verdict
from .decay import ExponentialDecay, exponential_decay
from .paired import PairedComparison, paired_comparison
from .power_law import PowerLawBound, power_law_bound
from .reference import ReferenceMatch, ZTest, matches_reference, z_test

__all__ = [
    "VERDICTS",
    "Verdict",
    "ExponentialDecay",
    "PowerLawBound",
    "PairedComparison",
    "ReferenceMatch",
    "exponential_decay",
    "power_law_bound",
    "paired_comparison",
    "matches_reference",
    "ZTest",
    "z_test",
]

