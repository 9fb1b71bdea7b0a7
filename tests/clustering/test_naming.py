"""Cluster names are true of the profile the report shows, unique in a model, blind to the
cluster numbers, and kept from the previous run while the rules allow: properties over random
layouts of cluster statistics (pure Python, no Spark)."""

from __future__ import annotations

import collections
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.layer1_core.config import ClusteringSettings
from custseg.layer3_stages.clustering import features, naming, profiles
from custseg.layer3_stages.clustering.features import ScalerStatistics
from custseg.layer3_stages.clustering.stability import PreviousCluster
from custseg.layer3_stages.clustering.statistics import (
    ClusterStatistics,
    PopulationStatistics,
    z_scores,
)

RECENCY, FREQUENCY, MONETARY = "recency_days", "frequency", "monetary"
COLUMNS = (RECENCY, FREQUENCY, MONETARY)
FEATURES = features.parse_features(["log_recency", "log_frequency", "log_monetary"])
IDENTITY_SCALER = ScalerStatistics(shift=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0])
LOG_MEAN, LOG_STD = 3.0, 1.0
DEFAULT_THRESHOLD = ClusteringSettings().name_threshold

# The rule as the report reads it, written here apart from the implementation: a level word
# holds when the z-score is beyond the threshold and the plain mean is on the same side of the
# population's; "mid" words hold when neither side does. (column, side) per word, where side
# is "above", "below" or None (middling); recency counts days, so "recent" is below.
LEVEL_WORDS = {
    "recent": [(RECENCY, "below")],
    "lapsed": [(RECENCY, "above")],
    "frequent": [(FREQUENCY, "above")],
    "rare": [(FREQUENCY, "below")],
    "occasional": [(FREQUENCY, None)],
    "newcomers": [(RECENCY, "below"), (FREQUENCY, "below")],
    "high": [(MONETARY, "above")],
    "big": [(MONETARY, "above")],
    "high-spending": [(MONETARY, "above")],
    "low": [(MONETARY, "below")],
    "mid": [(MONETARY, None)],
    "spenders": [],
}
# qualifier -> (what it compares, which scales must agree, +1 for the larger value)
QUALIFIER_WORDS = {
    "higher spend": (MONETARY, "both", +1),
    "lower spend": (MONETARY, "both", -1),
    "more frequent": (FREQUENCY, "both", +1),
    "less frequent": (FREQUENCY, "both", -1),
    "less recent": (RECENCY, "both", +1),
    "more recent": (RECENCY, "both", -1),
    "higher average spend": (MONETARY, "mean", +1),
    "lower average spend": (MONETARY, "mean", -1),
    "more orders on average": (FREQUENCY, "mean", +1),
    "fewer orders on average": (FREQUENCY, "mean", -1),
    "less recent on average": (RECENCY, "mean", +1),
    "more recent on average": (RECENCY, "mean", -1),
    "more customers": ("customers", "size", +1),
    "fewer customers": ("customers", "size", -1),
}

z_values = st.sampled_from([-1.0, -0.35, 0.0, 0.2, 0.35, 0.9]) | st.floats(-2.5, 2.5)
plain_means = st.sampled_from([50.0, 100.0, 150.0]) | st.floats(0.0, 1000.0)
# None: the plain mean follows the z-score (population mean times exp(z)), so the two scales
# agree and level words get exercised as well as vetoed.
cluster_means = plain_means | st.none()
clusters = st.tuples(
    st.sampled_from([10, 20]) | st.integers(0, 500),
    st.tuples(z_values, z_values, z_values),
    st.tuples(cluster_means, cluster_means, cluster_means),
)
layouts = st.builds(
    lambda distinct, repeats: distinct + [distinct[i % len(distinct)] for i in repeats],
    st.lists(clusters, min_size=1, max_size=6),
    st.lists(st.integers(0, 5), max_size=3),
)
thresholds = st.sampled_from([0.0, DEFAULT_THRESHOLD, 1.0]) | st.floats(0.0, 2.0)


def cluster_statistics(customers, z, means, people_means=(100.0, 100.0, 100.0)):
    log_means = {c: LOG_MEAN + LOG_STD * v for c, v in zip(COLUMNS, z)}
    plain = {
        c: people_mean * math.exp(v) if mean is None else mean
        for c, v, mean, people_mean in zip(COLUMNS, z, means, people_means)
    }
    return ClusterStatistics(customers, customers * plain[MONETARY], plain, plain, log_means)


def population(means) -> PopulationStatistics:
    return PopulationStatistics(
        customers=1000,
        revenue=1000 * means[2],
        means=dict(zip(COLUMNS, means)),
        log_means=dict.fromkeys(COLUMNS, LOG_MEAN),
        log_stds=dict.fromkeys(COLUMNS, LOG_STD),
    )


@st.composite
def models(draw):
    """(statistics of each cluster, population) of one model."""
    people_means = draw(st.tuples(plain_means, plain_means, plain_means))
    stats = [cluster_statistics(*cluster, people_means) for cluster in draw(layouts)]
    return stats, population(people_means)


def describe(stats, people, threshold, previous=(), order=None):
    """describe() with original cluster i numbered order[i]; centres are the log means."""
    order = order or list(range(len(stats)))
    numbered = {order[i]: s for i, s in enumerate(stats)}
    centres = [[numbered[c].log_means[col] for col in COLUMNS] for c in range(len(stats))]
    return profiles.describe(
        numbered,
        centres=centres,
        features=FEATURES,
        scaler=IDENTITY_SCALER,
        population=people,
        previous=previous,
        threshold=threshold,
    )


def side(stats, people, column, threshold):
    z = z_scores(stats, people)[column]
    difference = stats.means[column] - people.means[column]
    if z > threshold and difference > 0:
        return "above"
    if z < -threshold and difference < 0:
        return "below"
    return None


def split_name(name):
    base, *qualifiers = name.split(", ")
    return base, qualifiers


def assert_level_words_hold(profile, stats, people, threshold):
    base, _ = split_name(profile.cluster_name)
    for word in base.lower().split():
        assert word in LEVEL_WORDS, f"{word!r} of {base!r} has no rule in this test"
        for column, expected in LEVEL_WORDS[word]:
            assert side(stats, people, column, threshold) == expected, (word, column, stats)


def assert_tells_apart(a, b, qualifier_a, qualifier_b, shared_prefix):
    """a and b share a base and ``shared_prefix``; their next qualifiers must be opposite
    words of one comparison that is true of a against b."""
    if qualifier_a.startswith("variant") or qualifier_b.startswith("variant"):
        assert qualifier_a.startswith("variant") and qualifier_b.startswith("variant")
        used = {QUALIFIER_WORDS[q][0] for q in shared_prefix}
        assert "customers" in used or a.customers == b.customers
        assert all(a.means[c] == b.means[c] for c in COLUMNS if c not in used)
        return
    axis, scales, direction = QUALIFIER_WORDS[qualifier_a]
    assert QUALIFIER_WORDS[qualifier_b] == (axis, scales, -direction)
    if scales == "size":
        assert direction * (a.customers - b.customers) > 0
        return
    assert direction * (a.means[axis] - b.means[axis]) > 0
    if scales == "both":
        assert direction * (a.log_means[axis] - b.log_means[axis]) > 0


def assert_truthful_and_unique(described, numbered_stats, people, threshold):
    names = [p.cluster_name for p in described]
    assert len(set(names)) == len(names), names
    for p in described:
        assert_level_words_hold(p, numbered_stats[p.model_cluster], people, threshold)
        _, qualifiers = split_name(p.cluster_name)
        axes = [QUALIFIER_WORDS[q][0] for q in qualifiers if not q.startswith("variant")]
        assert len(set(axes)) == len(axes), p.cluster_name
    for a in described:
        for b in described:
            base_a, qualifiers_a = split_name(a.cluster_name)
            base_b, qualifiers_b = split_name(b.cluster_name)
            if a is b or base_a != base_b:
                continue
            i = next(i for i, (x, y) in enumerate(zip(qualifiers_a, qualifiers_b)) if x != y)
            assert_tells_apart(
                numbered_stats[a.model_cluster],
                numbered_stats[b.model_cluster],
                qualifiers_a[i],
                qualifiers_b[i],
                qualifiers_a[:i],
            )


ACTIONS_OF_BASE: dict[str, tuple] = {}
ACTION_OF_QUALIFIER: dict[str, str] = {}


def assert_actions_follow_the_words(profile):
    """Across every example: a base name always brings the same actions, each qualifier
    adds one action, always the same."""
    base, qualifiers = split_name(profile.cluster_name)
    count = len(profile.actions) - len(qualifiers)
    assert count >= 1
    assert ACTIONS_OF_BASE.setdefault(base, profile.actions[:count]) == profile.actions[:count]
    for qualifier, action in zip(qualifiers, profile.actions[count:]):
        key = "variant" if qualifier.startswith("variant") else qualifier
        assert ACTION_OF_QUALIFIER.setdefault(key, action) == action


def numbered(stats, described):
    return {p.model_cluster: stats[p.model_cluster] for p in described}


@given(model=models(), threshold=thresholds)
@settings(max_examples=200, deadline=None)
def test_every_word_of_every_name_holds_and_names_are_unique(model, threshold):
    stats, people = model

    described = describe(stats, people, threshold)

    assert_truthful_and_unique(described, numbered(stats, described), people, threshold)
    for p in described:
        assert_actions_follow_the_words(p)


def named_profiles(described, stats):
    return collections.Counter(
        (repr(stats[p.model_cluster]), p.cluster_name, p.actions) for p in described
    )


@given(data=st.data(), model=models())
@settings(max_examples=200, deadline=None)
def test_permuting_cluster_numbers_keeps_each_profiles_name(data, model):
    stats, people = model
    order = data.draw(st.permutations(range(len(stats))))

    plain = describe(stats, people, DEFAULT_THRESHOLD)
    permuted = describe(stats, people, DEFAULT_THRESHOLD, order=order)

    permuted_stats = {order[i]: s for i, s in enumerate(stats)}
    assert named_profiles(plain, dict(enumerate(stats))) == named_profiles(permuted, permuted_stats)


def carried(described, names=None):
    return [
        PreviousCluster(p.cluster_id, names[i] if names else p.cluster_name, dict(p.centre))
        for i, p in enumerate(described)
    ]


@given(model=models(), threshold=thresholds)
@settings(max_examples=100, deadline=None)
def test_a_rerun_on_the_same_profiles_keeps_every_name(model, threshold):
    """By model cluster: clusters with equal centres may trade previous ids (the match is by
    centre), but each keeps the name its profile earns."""
    stats, people = model
    first = describe(stats, people, threshold)

    second = describe(stats, people, threshold, previous=carried(first))

    def names(described):
        return {p.model_cluster: p.cluster_name for p in described}

    assert names(second) == names(first)


@given(data=st.data(), model=models(), threshold=thresholds)
@settings(max_examples=150, deadline=None)
def test_whatever_the_previous_names_the_new_names_stay_true_and_unique(data, model, threshold):
    stats, people = model
    first = describe(stats, people, threshold)
    qualifiers = st.sampled_from([*QUALIFIER_WORDS, "variant 1", "variant 2"])
    old_names = data.draw(
        st.lists(
            st.builds(
                lambda p, extra, number: (
                    ", ".join([p.cluster_name.split(", ")[0], *extra]) + number
                ),
                st.sampled_from(first),
                st.lists(qualifiers, max_size=3),
                st.sampled_from(["", " (2)", " (3)"]),
            ),
            min_size=len(first),
            max_size=len(first),
        )
    )

    second = describe(stats, people, threshold, previous=carried(first, old_names))

    assert_truthful_and_unique(second, numbered(stats, second), people, threshold)


def test_a_previous_name_stays_while_its_words_still_hold():
    """Two look-alikes were told apart by spend; this month their recency differs more, but
    the spend cut still holds on both scales, so the names stay."""
    people = population((100.0, 100.0, 100.0))
    before = [
        cluster_statistics(100, (-1.0, -1.0, -0.7), (20.0, 20.0, 60.0)),
        cluster_statistics(100, (-0.9, -1.0, -1.3), (25.0, 20.0, 40.0)),
    ]
    after = [
        cluster_statistics(100, (-1.3, -1.0, -0.7), (15.0, 20.0, 60.0)),
        cluster_statistics(100, (-0.5, -1.0, -0.8), (45.0, 20.0, 55.0)),
    ]
    first = describe(before, people, DEFAULT_THRESHOLD)
    fresh = describe(after, people, DEFAULT_THRESHOLD)
    carried_over = describe(after, people, DEFAULT_THRESHOLD, previous=carried(first))

    assert [p.cluster_name for p in first] == [
        "Recent newcomers, higher spend",
        "Recent newcomers, lower spend",
    ]
    assert [p.cluster_name for p in fresh] == [
        "Recent newcomers, more recent",
        "Recent newcomers, less recent",
    ]
    assert [p.cluster_name for p in carried_over] == [p.cluster_name for p in first]
    assert [p.cluster_id for p in carried_over] == [p.cluster_id for p in first]


def test_a_previous_name_goes_when_its_words_no_longer_hold():
    """The previous run called each twin what the other one is now: the spend words are
    decided again from this run's profiles."""
    people = population((100.0, 100.0, 100.0))
    twins = [
        cluster_statistics(100, (-1.0, -1.0, -0.7), (20.0, 20.0, 60.0)),
        cluster_statistics(100, (-1.0, -1.0, -1.3), (20.0, 20.0, 40.0)),
    ]
    first = describe(twins, people, DEFAULT_THRESHOLD)
    swapped = carried(first, [first[1].cluster_name, first[0].cluster_name])

    second = describe(twins, people, DEFAULT_THRESHOLD, previous=swapped)

    assert [p.cluster_name for p in first] == [
        "Recent newcomers, higher spend",
        "Recent newcomers, lower spend",
    ]
    assert [p.cluster_name for p in second] == [p.cluster_name for p in first]


def test_numbered_names_of_earlier_runs_give_way_to_qualifiers():
    people = population((100.0, 100.0, 100.0))
    twins = [
        cluster_statistics(100, (-1.0, -1.0, -0.7), (20.0, 20.0, 60.0)),
        cluster_statistics(100, (-1.0, -1.0, -1.3), (20.0, 20.0, 40.0)),
    ]
    first = describe(twins, people, DEFAULT_THRESHOLD)
    old = carried(first, ["Recent newcomers (2)", "Recent newcomers"])

    second = describe(twins, people, DEFAULT_THRESHOLD, previous=old)

    assert sorted(p.cluster_name for p in second) == [
        "Recent newcomers, higher spend",
        "Recent newcomers, lower spend",
    ]


def test_plain_means_veto_what_the_log_scale_says():
    """The demo's case: spend well above the population on the log scale, but its mean (270)
    below the population's (376), as the report shows it: not "big spenders"."""
    people = population((100.0, 10.0, 376.0))
    lapsed = cluster_statistics(500, (1.2, 0.1, 0.8), (300.0, 9.0, 270.0))

    (profile,) = describe([lapsed], people, DEFAULT_THRESHOLD)

    assert profile.cluster_name == "Lapsed occasional mid spenders"


@pytest.mark.parametrize(
    "threshold, expected", [(0.35, "Recent frequent high spenders"), (1.0, "Frequent mid spenders")]
)
def test_the_threshold_decides_how_far_a_level_word_needs(threshold, expected):
    people = population((100.0, 10.0, 100.0))
    cluster = cluster_statistics(100, (-0.5, 1.5, 0.6), (50.0, 30.0, 200.0))

    (profile,) = describe([cluster], people, threshold)

    assert profile.cluster_name == expected


def test_identical_profiles_are_numbered_variants_and_nothing_else_is():
    people = population((100.0, 100.0, 100.0))
    twin = cluster_statistics(100, (-1.0, -1.0, -1.0), (20.0, 20.0, 20.0))
    bigger = cluster_statistics(200, (-1.0, -1.0, -1.0), (20.0, 20.0, 20.0))

    described = describe([twin, twin, bigger], people, DEFAULT_THRESHOLD)

    assert sorted(p.cluster_name for p in described) == [
        "Recent newcomers, fewer customers, variant 1",
        "Recent newcomers, fewer customers, variant 2",
        "Recent newcomers, more customers",
    ]


def test_base_name_strips_qualifiers_and_old_numbers():
    assert naming.base_name("Recent newcomers, higher spend, more recent") == "Recent newcomers"
    assert naming.base_name("Recent newcomers (2)") == "Recent newcomers"
    assert naming.base_name("Lapsed big spenders") == "Lapsed big spenders"
