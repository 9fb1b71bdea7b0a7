"""What a cluster is called and what to do about it, decided by rules on its profile.

A name must come from what the customers in a cluster do, never from the number the
algorithm happened to give it, so names are rules on the profile relative to the whole
population. For recency, frequency and monetary a level word ("recent", "frequent", "high
spenders", ...) needs two things to agree: the cluster's mean of log1p(value) lies more
than ``threshold`` population standard deviations from the population's (the z-score; the
log keeps a few very large customers from dragging every cluster to "low"), and the
cluster's plain mean, the figure the report shows, lies on the same side of the population's
plain mean. When either fails the axis is middling, so a name never says "big spenders" of
a cluster whose mean spend the report shows below everyone's. Fewer days since the last
order is "recent".

Clusters of one model that earn the same name are told apart by what separates them, added
after a comma: "Recent newcomers, higher spend" and "Recent newcomers, lower spend". The
group is cut in two where one measure puts every cluster of one side above every cluster of
the other, preferring in turn

1. recency, frequency or spend with the log-scale and the plain means agreeing on the cut
   ("more recent", "less frequent", "higher spend"), the widest cut in z units winning;
2. the number of customers ("more customers");
3. recency, frequency or spend on the plain means alone ("higher average spend").

Each side with more than one cluster is cut again, on a measure not used yet on its way.
Clusters that nothing left can cut (equal in size and in every plain mean not used yet on
their way: in practice identical profiles) are numbered "variant 1", "variant 2" in the
order of their size, z-scores and plain means, and only exactly equal ones in model cluster
order, the one place a cluster number can reach a name.

The rules here decide which text a cluster gets; the texts themselves are data,
``custseg/defaults/cluster_texts.yaml``, loaded and checked by
``custseg.layer1_core.cluster_texts``. The functions take a ``ClusterTexts`` and use the
packaged texts when given none. Every level word and every qualifier brings its actions from
the same entry of that file, so a name always comes with the same actions.

The previous run's names (of the clusters matched to these, see ``stability``) count only
where this run gives the same base name: a cut is kept when the matched clusters carried
exactly its words and it is one of the cuts of the first tier that has any, so two
look-alikes do not trade qualifiers between monthly runs while their old ones are still
true. A qualifier that is no longer true, or one left without a look-alike to compare with,
goes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

from custseg.layer1_core.cluster_texts import (
    QUALIFIER_SEPARATOR,
    ClusterTexts,
    Qualifier,
    QualifierPair,
    packaged_cluster_texts,
)
from custseg.layer3_stages.clustering.features import FREQUENCY, MONETARY, RECENCY
from custseg.layer3_stages.clustering.statistics import ClusterStatistics

CUSTOMERS = "customers"
# customer_rfm column -> the axis the texts are keyed by.
AXIS_OF_COLUMN = {RECENCY: "recency", FREQUENCY: "frequency", MONETARY: "spend"}


@dataclasses.dataclass(frozen=True)
class Traits:
    """What the names read of one cluster: its size, its z-scores (log scale, against the
    population) and its plain means (what the report shows), keyed by customer_rfm column."""

    customers: int
    z_scores: Mapping[str, float]
    means: Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class Levels:
    recency: str  # recent | mid | lapsed
    frequency: str  # high | mid | low
    spend: str  # high | mid | low


@dataclasses.dataclass(frozen=True)
class Label:
    name: str
    actions: tuple[str, ...]


def _level(
    traits: Traits,
    column: str,
    population_means: Mapping[str, float],
    threshold: float,
    words: tuple[str, str],
) -> str:
    """``words``: (below the population, above it)."""
    z, mean = traits.z_scores.get(column), traits.means.get(column)
    population_mean = population_means.get(column)
    if z is None or mean is None or population_mean is None:
        return "mid"
    if z > threshold and mean > population_mean:
        return words[1]
    if z < -threshold and mean < population_mean:
        return words[0]
    return "mid"


def levels(traits: Traits, population_means: Mapping[str, float], threshold: float) -> Levels:
    """High or low on an axis only where the log scale and the plain means agree."""
    return Levels(
        recency=_level(traits, RECENCY, population_means, threshold, ("recent", "lapsed")),
        frequency=_level(traits, FREQUENCY, population_means, threshold, ("low", "high")),
        spend=_level(traits, MONETARY, population_means, threshold, ("low", "high")),
    )


def value_action_key(frequency: str, spend: str) -> str:
    """The texts' ``base_names.value_actions`` entry for a template-named cluster: the first
    rule that applies."""
    if spend == "high" and frequency == "high":
        return "high_frequency_high_spend"
    if spend == "high":
        return "high_spend"
    if frequency == "high":
        return "high_frequency"
    if frequency == "low" and spend == "low":
        return "low_frequency_low_spend"
    if frequency == "mid" and spend == "mid":
        return "mid_frequency_mid_spend"
    return "other"


def label(level: Levels, texts: ClusterTexts | None = None) -> Label:
    """Base name and actions from the levels; each branch decides both, so a name always
    comes with the same actions. ``texts``: None for the packaged ones."""
    texts = texts or packaged_cluster_texts()
    special = None
    if level.recency == "recent" and level.frequency == "low":
        high = level.spend == "high"
        special = texts.special["high_spending_newcomers" if high else "newcomers"]
    elif level.recency == "lapsed" and level.spend == "high":
        special = texts.special["lapsed_big_spenders"]
    if special is not None:
        return Label(special.name, special.actions)
    return Label(
        texts.template_name(level.recency, level.frequency, level.spend),
        (
            texts.recency_actions[level.recency],
            texts.value_actions[value_action_key(level.frequency, level.spend)],
        ),
    )


@dataclasses.dataclass(frozen=True)
class Contrast:
    """One way look-alike clusters can differ. A cut along it is true only when every one of
    ``measures`` puts the whole ``larger`` side above the whole ``smaller`` side; the gap on
    the first measure, in ``unit``s, is the cut's width. ``axis`` is used at most once on a
    name's way down."""

    axis: str
    measures: tuple[Callable[[Traits], float | None], ...]
    unit: float
    larger: Qualifier
    smaller: Qualifier


def _z(column: str) -> Callable[[Traits], float | None]:
    return lambda traits: traits.z_scores.get(column)


def _mean(column: str) -> Callable[[Traits], float | None]:
    return lambda traits: traits.means.get(column)


def _size(traits: Traits) -> float:
    return float(traits.customers)


def contrast_tiers(
    population_means: Mapping[str, float], texts: ClusterTexts | None = None
) -> tuple[tuple[Contrast, ...], ...]:
    """The contrasts in order of preference: a cut is taken from the first tier that has one.
    Gaps of plain means count in units of the population's mean, so widths compare across axes.
    Each contrast's qualifiers come from ``texts`` (None: the packaged ones); recency counts
    days, so its larger side is the less recent one."""
    texts = texts or packaged_cluster_texts()
    axes = (MONETARY, FREQUENCY, RECENCY)

    def scale(column: str) -> float:
        value = population_means.get(column)
        return abs(value) if value else 1.0

    def contrast(axis: str, measures: tuple, unit: float, words: QualifierPair) -> Contrast:
        return Contrast(axis, measures, unit, words.larger, words.smaller)

    both = tuple(
        contrast(a, (_z(a), _mean(a)), 1.0, texts.both_scales[AXIS_OF_COLUMN[a]]) for a in axes
    )
    average = tuple(
        contrast(a, (_mean(a),), scale(a), texts.average_only[AXIS_OF_COLUMN[a]]) for a in axes
    )
    return both, (contrast(CUSTOMERS, (_size,), 1.0, texts.size),), average


@dataclasses.dataclass(frozen=True)
class _Cut:
    width: float
    contrast: Contrast
    smaller: frozenset[int]
    larger: frozenset[int]


def _cuts(members: Sequence[int], traits: Mapping[int, Traits], contrast: Contrast) -> list[_Cut]:
    """Every way to split ``members`` in two that all of the contrast's measures agree on,
    in ascending order of the first measure."""
    values = {c: [measure(traits[c]) for measure in contrast.measures] for c in members}
    if any(v is None for row in values.values() for v in row):
        return []
    ordered = sorted(members, key=lambda c: values[c][0])
    cuts = []
    for position in range(1, len(ordered)):
        below, above = ordered[:position], ordered[position:]
        separated = all(
            max(values[c][i] for c in below) < min(values[c][i] for c in above)
            for i in range(len(contrast.measures))
        )
        if separated:
            gap = min(values[c][0] for c in above) - max(values[c][0] for c in below)
            width = gap / contrast.unit
            cuts.append(_Cut(width, contrast, frozenset(below), frozenset(above)))
    return cuts


def _choose_cut(
    members: Sequence[int],
    traits: Mapping[int, Traits],
    tiers: Sequence[Sequence[Contrast]],
    used_axes: frozenset[str],
    previous: Mapping[int, str | None],
) -> _Cut | None:
    """The widest cut of the first tier that has one, unless the previous run's cut of these
    clusters (their qualifier texts at this depth, in ``previous``) is among that tier's."""
    for tier in tiers:
        cuts = [
            cut
            for contrast in tier
            if contrast.axis not in used_axes
            for cut in _cuts(members, traits, contrast)
        ]
        if not cuts:
            continue
        for cut in cuts:
            if all(previous.get(c) == cut.contrast.smaller.text for c in cut.smaller) and all(
                previous.get(c) == cut.contrast.larger.text for c in cut.larger
            ):
                return cut
        return max(cuts, key=lambda cut: cut.width)  # the first of equal widths
    return None


def _profile_order(traits: Traits) -> tuple:
    return (traits.customers, sorted(traits.z_scores.items()), sorted(traits.means.items()))


def _variants(
    members: Sequence[int], traits: Mapping[int, Traits], texts: ClusterTexts
) -> dict[int, tuple]:
    ordered = sorted(members, key=lambda c: (_profile_order(traits[c]), c))
    return {c: (texts.variant(i),) for i, c in enumerate(ordered, 1)}


def qualifiers(
    members: Sequence[int],
    traits: Mapping[int, Traits],
    tiers: Sequence[Sequence[Contrast]],
    previous_paths: Mapping[int, Sequence[str]],
    used_axes: frozenset[str] = frozenset(),
    *,
    texts: ClusterTexts | None = None,
) -> dict[int, tuple[Qualifier, ...]]:
    """Qualifiers that make the names of ``members`` (clusters sharing a base name) unique:
    cut in two, then each side again on an axis not used yet on its way. ``texts`` (None: the
    packaged ones) words the variants; ``tiers`` carry the other qualifiers."""
    texts = texts or packaged_cluster_texts()
    if len(members) == 1:
        return {members[0]: ()}
    depth = len(used_axes)
    previous = {c: p[depth] if len(p) > depth else None for c, p in previous_paths.items()}
    cut = _choose_cut(members, traits, tiers, used_axes, previous)
    if cut is None:
        return _variants(members, traits, texts)
    found: dict[int, tuple[Qualifier, ...]] = {}
    for side, qualifier in ((cut.smaller, cut.contrast.smaller), (cut.larger, cut.contrast.larger)):
        deeper = qualifiers(
            sorted(side),
            traits,
            tiers,
            previous_paths,
            used_axes | {cut.contrast.axis},
            texts=texts,
        )
        found.update({c: (qualifier, *rest) for c, rest in deeper.items()})
    return found


_NUMBER_SUFFIX = re.compile(r" \((\d+)\)$")


def base_name(name: str) -> str:
    """The rule's name without the qualifiers that told look-alike clusters apart (and
    without the " (n)" numbers names carried before qualifiers existed)."""
    return _NUMBER_SUFFIX.sub("", name.split(QUALIFIER_SEPARATOR)[0])


def _qualifier_texts(name: str | None, base: str) -> tuple[str, ...]:
    """The previous name's qualifiers when its base is this run's base, else none."""
    if name is None or base_name(name) != base:
        return ()
    return tuple(name.split(QUALIFIER_SEPARATOR)[1:])


def name_clusters(
    traits: Mapping[int, Traits],
    population_means: Mapping[str, float],
    *,
    threshold: float,
    previous_names: Mapping[int, str] | None = None,
    texts: ClusterTexts | None = None,
) -> dict[int, Label]:
    """Unique names and actions of one model's clusters; ``previous_names`` are the names of
    the previous run's clusters matched to them. ``texts``: the words and actions to use
    (None: the packaged ``defaults/cluster_texts.yaml``)."""
    previous_names = previous_names or {}
    texts = texts or packaged_cluster_texts()
    bases = {c: label(levels(t, population_means, threshold), texts) for c, t in traits.items()}
    tiers = contrast_tiers(population_means, texts)
    groups: dict[str, list[int]] = {}
    for cluster in sorted(traits):
        groups.setdefault(bases[cluster].name, []).append(cluster)
    labels = {}
    for base, members in groups.items():
        paths = {c: _qualifier_texts(previous_names.get(c), base) for c in members}
        for cluster, found in qualifiers(members, traits, tiers, paths, texts=texts).items():
            labels[cluster] = Label(
                QUALIFIER_SEPARATOR.join((base, *(q.text for q in found))),
                bases[cluster].actions + tuple(q.action for q in found),
            )
    return labels


def priority(stats: Mapping[int, ClusterStatistics]) -> list[int]:
    """Model clusters from most to least revenue (then size); the index only breaks exact ties.
    Orders the handing out of new cluster ids."""
    return sorted(stats, key=lambda c: (-stats[c].revenue, -stats[c].customers, c))
