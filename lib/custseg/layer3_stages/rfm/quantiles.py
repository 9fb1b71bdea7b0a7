"""numpy's linear quantile rebuilt from a handful of order statistics, on the driver.

The scores must equal pandas ``qcut``, which cuts at ``np.quantile(x, probabilities,
method="linear")``. A linear quantile reads only two order statistics per probability, so
the Spark side fetches just those values and this module redoes numpy's arithmetic bit for
bit; nothing here touches Spark, which keeps it testable against numpy on many examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np


class QuantileError(ValueError):
    """A quantile was asked of values that do not have one (an empty set)."""


def qcut_probabilities(bins: int) -> np.ndarray:
    """The probabilities pandas' qcut hands to numpy, bit for bit.

    qcut builds ``np.linspace(0, 1, bins + 1)``; ``Series.quantile`` multiplies them by 100 and
    ``np.percentile`` divides by 100 again. The round trip moves some by one ulp (1/3 for
    bins=3, 0.7 for bins=10), which can move numpy's floor index, so we repeat it.
    """
    return np.true_divide(np.linspace(0, 1, bins + 1) * 100.0, 100)


@dataclasses.dataclass(frozen=True)
class QuantilePlan:
    """Which 0-based order statistics numpy's linear quantile reads, and with what weight."""

    lower: tuple[int, ...]
    upper: tuple[int, ...]
    weights: np.ndarray

    @property
    def positions(self) -> list[int]:
        return sorted(set(self.lower) | set(self.upper))


def plan_linear_quantiles(n: int, probabilities: np.ndarray) -> QuantilePlan:
    """Mirrors numpy's ``_quantile``/``_get_indexes``/``_get_gamma`` for method="linear"."""
    if n < 1:
        raise QuantileError("quantiles of an empty set are undefined")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    virtual = (n - 1) * probabilities
    previous = np.floor(virtual)
    following = previous + 1
    at_or_above_last = virtual >= n - 1
    previous[at_or_above_last] = -1  # numpy reads arr[-1], the largest value
    following[at_or_above_last] = -1
    below_first = virtual < 0
    previous[below_first] = 0
    following[below_first] = 0
    previous_index = previous.astype(np.intp)
    following_index = following.astype(np.intp)
    weights = np.asarray(virtual - previous_index, dtype=np.float64)
    return QuantilePlan(
        lower=tuple(int(i) % n for i in previous_index),
        upper=tuple(int(i) % n for i in following_index),
        weights=weights,
    )


def interpolate(plan: QuantilePlan, order_statistics: Mapping[int, float]) -> np.ndarray:
    """numpy's ``_lerp``: ``a + (b-a)*t``, or ``b - (b-a)*(1-t)`` when ``t >= 0.5``.

    Values are taken as float64; for integer data (recency days, ranks) numpy subtracts in
    int64 first, which gives the same result for magnitudes below 2**53.
    """
    a = np.array([order_statistics[i] for i in plan.lower], dtype=np.float64)
    b = np.array([order_statistics[i] for i in plan.upper], dtype=np.float64)
    t = plan.weights
    diff = b - a
    with np.errstate(over="ignore", invalid="ignore"):
        low_side = a + diff * t
        high_side = b - diff * (1 - t)
    return np.where(t >= 0.5, high_side, low_side)


def linear_quantiles(sorted_values: Sequence[float], probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(values, probabilities)`` from already sorted values (the oracle's twin)."""
    plan = plan_linear_quantiles(len(sorted_values), probabilities)
    return interpolate(plan, {i: sorted_values[i] for i in plan.positions})


def unique_edges(quantiles: Sequence[float]) -> tuple[float, ...]:
    """qcut's ``duplicates="drop"``: keep the first of equal cut points, in order."""
    return tuple(float(q) for q in dict.fromkeys(float(q) for q in quantiles))


def rank_quantile_edges(n: int, bins: int) -> tuple[float, ...]:
    """Cut points of the ranks 1..n: the order statistic at position i is i + 1."""
    plan = plan_linear_quantiles(n, qcut_probabilities(bins))
    return unique_edges(interpolate(plan, {i: float(i + 1) for i in plan.positions}))
