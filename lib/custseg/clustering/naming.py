"""What a cluster is called and what to do about it, decided by rules on its profile.

A name must come from what the customers in a cluster do, never from the number the
algorithm happened to give it, so names are rules on the profile relative to the whole
population: for recency, frequency and monetary, the cluster's mean of log1p(value) is
compared with the population's, in population standard deviations (a z-score). Beyond
+/- ``LEVEL_THRESHOLD`` the cluster is high or low on that axis, otherwise middling. The
log scale keeps a few very large customers from dragging every cluster to "low".

Two clusters can earn the same name; the one with more revenue keeps it and the others
get " (2)", " (3)" in revenue order. When the previous run's matching cluster had the
same name (up to that suffix) the exact previous name is kept, so names do not swap
between monthly runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from custseg.clustering.features import FREQUENCY, MONETARY, RECENCY
from custseg.clustering.statistics import ClusterStatistics

LEVEL_THRESHOLD = 0.35


@dataclasses.dataclass(frozen=True)
class Levels:
    recency: str  # recent | mid | lapsed
    frequency: str  # high | mid | low
    spend: str  # high | mid | low


@dataclasses.dataclass(frozen=True)
class Label:
    name: str
    actions: tuple[str, ...]


def _level(z: float | None, low: str, high: str, threshold: float) -> str:
    if z is None or abs(z) < threshold:
        return "mid"
    return high if z > 0 else low


def levels(z: Mapping[str, float], threshold: float = LEVEL_THRESHOLD) -> Levels:
    return Levels(
        recency=_level(z.get(RECENCY), "recent", "lapsed", threshold),
        frequency=_level(z.get(FREQUENCY), "low", "high", threshold),
        spend=_level(z.get(MONETARY), "low", "high", threshold),
    )


FREQUENCY_WORDS = {"high": "frequent", "mid": "occasional", "low": "rare"}
SPEND_WORDS = {"high": "high spenders", "mid": "mid spenders", "low": "low spenders"}
RECENCY_PREFIX = {"recent": "recent ", "mid": "", "lapsed": "lapsed "}

RECENCY_ACTIONS = {
    "recent": "Follow up while the last order is fresh: suggest a complementary product "
    "within two weeks of it.",
    "mid": "Time reminders to each customer's usual gap between orders instead of a fixed "
    "mailing calendar.",
    "lapsed": "Run a short win-back sequence of two or three contacts, then stop mailing "
    "those who do not respond.",
}
NEWCOMER_ACTIONS = (
    "Send a welcome series covering delivery, returns and the loyalty programme.",
    "Offer a time-limited incentive on the second order; the first repeat purchase is the "
    "one that predicts loyalty.",
)
NEWCOMER_HIGH_SPEND_ACTION = (
    "Thank them personally for a large first basket and ask for product feedback."
)
LAPSED_BIG_SPENDER_ACTIONS = (
    "Contact them personally and ask what changed; pass the answers to the product and "
    "service teams.",
    "Make a come-back offer built on the categories they used to buy, not a generic discount.",
)


def _value_action(frequency: str, spend: str) -> str:
    if spend == "high" and frequency == "high":
        return (
            "Reward with service perks and early access rather than discounts; their "
            "margin is worth protecting."
        )
    if spend == "high":
        return "Offer a named account contact so large occasional orders turn into a regular habit."
    if frequency == "high":
        return (
            "Lift basket size with bundles and a free-shipping threshold just above "
            "their usual order."
        )
    if frequency == "low" and spend == "low":
        return "Keep contact cost low: automated email only, no paid media."
    if frequency == "mid" and spend == "mid":
        return "Invite them to the loyalty programme with bonus points on the next two orders."
    return "Recommend best-sellers from the categories they already buy to earn a repeat order."


def label(level: Levels) -> Label:
    """Name and actions from the levels; each branch decides both, so a name always comes
    with the same actions."""
    if level.recency == "recent" and level.frequency == "low":
        if level.spend == "high":
            return Label(
                "Recent high-spending newcomers", NEWCOMER_ACTIONS + (NEWCOMER_HIGH_SPEND_ACTION,)
            )
        return Label("Recent newcomers", NEWCOMER_ACTIONS)
    if level.recency == "lapsed" and level.spend == "high":
        return Label("Lapsed big spenders", LAPSED_BIG_SPENDER_ACTIONS)
    text = (
        RECENCY_PREFIX[level.recency]
        + FREQUENCY_WORDS[level.frequency]
        + " "
        + SPEND_WORDS[level.spend]
    )
    return Label(
        text[0].upper() + text[1:],
        (RECENCY_ACTIONS[level.recency], _value_action(level.frequency, level.spend)),
    )


_SUFFIX = re.compile(r" \((\d+)\)$")


def base_name(name: str) -> str:
    """The rule's name without the " (n)" that told two clusters apart."""
    return _SUFFIX.sub("", name)


def priority(stats: Mapping[int, ClusterStatistics]) -> list[int]:
    """Model clusters from most to least revenue (then size); the index only breaks exact ties."""
    return sorted(stats, key=lambda c: (-stats[c].revenue, -stats[c].customers, c))


def unique_names(
    bases: Mapping[int, str], order: Sequence[int], carried: Mapping[int, str]
) -> dict[int, str]:
    """Final names: a carried (previous) name is kept while the rule still gives its base;
    every other cluster gets its base, numbered in ``order`` if already taken."""
    names = {c: carried[c] for c in order if c in carried and base_name(carried[c]) == bases[c]}
    used = set(names.values())
    for cluster in order:
        if cluster in names:
            continue
        candidate, number = bases[cluster], 2
        while candidate in used:
            candidate, number = f"{bases[cluster]} ({number})", number + 1
        names[cluster] = candidate
        used.add(candidate)
    return names
