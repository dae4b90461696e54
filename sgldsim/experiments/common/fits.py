"""Shared pieces of the theory experiments' verdicts (docs/theory.md §4: Thm 3.5 and Thm 3.8 of the
fSGLD paper): the bound's exponents, where a transient's exponential phase starts (from the
design, never from the values), and how per-step-size and per-cell tests combine into one verdict.

The tests themselves are :mod:`sgldsim.verdicts`' (:func:`~sgldsim.verdicts.exponential_decay`,
:func:`~sgldsim.verdicts.power_law_bound`, :func:`~sgldsim.verdicts.matches_reference`); every
threshold is a level of one of them.
"""

from __future__ import annotations

import numpy as np

from ...verdicts import ExponentialDecay, ReferenceMatch, Verdict

STEP_SIZE_EXPONENTS = {1: 0.5, 2: 0.25}
"""Thm 3.5: W1 = O(lam^(1/2)), W2 = O(lam^(1/4)) as lam -> 0."""
LEVEL = 0.01
"""The false-alarm rate of an "inconsistent" over all the cells a claim covers together (each
of m per-cell tests runs at LEVEL / m: Bonferroni)."""
FAST_EFOLDS = 5.0
"""e-folds of the motion inside the first well before an exponential transient's window opens."""


def ballistic_end(potential, x0: float) -> float:
    """The time lam k at which the ballistic phase of a 1-D chain started at x0 is over:
    FAST_EFOLDS / u''(x_well), x_well the local minimum the gradient flow from x0 reaches.

    Particles started at one point first slide into that well as a block and relax inside it
    at rate u''(x_well) (mean) or 2 u''(x_well) (spread); what is left afterwards (exp(-5): under
    1 %) is the slow transient between the wells that Thm 3.5's and Thm 3.8's first terms bound.
    The window of :func:`~sgldsim.verdicts.exponential_decay` starts here: a choice made from
    the design (landscape and start), not from the values, so it cannot select a falling
    segment.

    Args:
      potential: a 1-D :class:`~sgldsim.potentials.Potential`.
      x0: the particles' start.

    Returns:
      The start of the window in units of lam k.
    """
    value = lambda x: np.asarray(potential.value(np.asarray(x, dtype=float)[:, None]))
    h = 1e-3
    downhill = -1.0 if value([x0 + h])[0] > value([x0 - h])[0] else 1.0
    path = x0 + downhill * h * np.arange(50_000)  # up to 50 length units downhill
    u = value(path)
    rises = np.flatnonzero(np.diff(u) >= 0)
    if not rises.size:
        raise ValueError(f"x0={x0}: no minimum within 50 length units downhill")
    well = path[rises[0]]
    curvature = float(np.asarray(potential.laplacian(np.array([[well]])))[0])
    return FAST_EFOLDS / curvature


def decay_verdict(claim: str, step_sizes, fits: list[ExponentialDecay], rate_factor: float
                  ) -> Verdict:
    """One verdict on "the transient decays exponentially at every step size" from one
    :func:`~sgldsim.verdicts.exponential_decay` per step size (each at level LEVEL / m).

    "inconsistent" when one step size's decay is (slower than exponential or growing),
    "consistent" when every step size's is, "inconclusive" otherwise. The rates are reported as
    c = ``rate_factor`` x the fitted rate (2 for Thm 3.5's exp(-c lam k / 2), 4 for Thm 3.8's
    exp(-c lam k / 4)) with the slowest, the common rate c_min.
    """
    lam = np.asarray(step_sizes, dtype=float)
    labels = [f.verdict.verdict for f in fits]
    listed = "; ".join(
        f"lam={a:g}: {f.verdict.verdict}, c = {rate_factor * f.rate:.3f} +- "
        f"{rate_factor * f.rate_stderr:.3f}, curvature of log {f.curvature:.3g} +- "
        f"{f.curvature_stderr:.2g} over {f.n} records in lam k [{f.t_start:.3g}, {f.t_end:.3g}]"
        for a, f in zip(lam, fits, strict=True))
    rates = np.array([rate_factor * f.rate for f in fits])
    common = ""
    if np.isfinite(rates).any():
        slowest = int(np.nanargmin(rates))
        common = (f"; common rate c_min = {rates[slowest]:.3f} (at lam={lam[slowest]:g})")
    verdict = ("inconsistent" if "inconsistent" in labels else
               "consistent" if all(v == "consistent" for v in labels) else "inconclusive")
    return Verdict(claim, verdict, (
        f"{listed}{common}; each step size tested for convexity of log(excess) (slower than "
        f"exponential) and growth at level {LEVEL:g}/{len(fits)} (family-wise {LEVEL:g})"))


def transient_left(t_end: float, excess_at_end: float, rate: float, t) -> np.ndarray:
    """What a fitted exponential transient still predicts at times t: the excess at the window's
    last point, decayed at the fitted rate (nan when no fit ran)."""
    return excess_at_end * np.exp(-rate * (np.asarray(t, dtype=float) - t_end))


def settling_verdict(match: ReferenceMatch, left, stderr, detail: str, side: str) -> Verdict:
    """A :func:`~sgldsim.verdicts.matches_reference` verdict on "the particles settle on the
    stationary level", told apart from a run that is too short.

    ``left``: what each compared value's fitted transient still predicts (nan: no transient
    was fitted, i.e. none stood above the floor); ``stderr``: the standard errors the match
    used; ``side``: the match's side. A value beyond the match's threshold whose transient alone
    still exceeds that threshold (left > threshold x stderr) shows only that the run stops
    early: if every failing value is such, the verdict is "inconclusive" (more steps needed),
    otherwise it stays.
    """
    verdict = match.verdict._replace(reason=f"{match.verdict.reason}; {detail}")
    if verdict.verdict != "inconsistent":
        return verdict
    z = np.abs(match.z) if side == "two-sided" else match.z
    left = np.asarray(left, dtype=float)
    tolerance = match.threshold * np.broadcast_to(np.asarray(stderr, dtype=float), left.shape)
    failing = np.nan_to_num(z, nan=-np.inf) > match.threshold
    short = failing & (left > tolerance)
    if short[failing].all():
        return verdict._replace(verdict="inconclusive", reason=(
            f"the runs stop before the transient has decayed (fitted transient still "
            f"{np.nanmax(left[short]):.3g} against a tolerance of "
            f"{np.nanmin(tolerance[short]):.3g} in {int(short.sum())} of {int(failing.sum())} "
            f"values beyond the threshold; more steps needed): {verdict.reason}"))
    return verdict
