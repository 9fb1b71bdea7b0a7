"""Settings: the YAML keys are a public contract, so every mistake must name its key."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from custseg.layer1_core.config import (
    ConfigError,
    Settings,
    load_packaged_settings,
    load_settings,
    replace,
)

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    return path


def test_shipped_configs_load():
    local = load_settings(REPO / "lib" / "custseg" / "defaults" / "local.yaml")
    assert local.input.columns["quantity"] == "item_count"
    assert local.table_path("customer_rfm").endswith("/warehouse/customer_rfm")
    cluster = load_settings(REPO / "conf" / "cluster.yaml")
    assert cluster.table_path("transactions") == "s3a://your-bucket/custseg/transactions"
    retail = load_settings(REPO / "conf" / "examples" / "online_retail.yaml")
    assert retail.input.columns["order_id"] == "InvoiceNo" and retail.rfm.as_of == dt.date(
        2011, 12, 10
    )


def test_defaults_map_the_seed_layout():
    assert Settings().input.columns == {
        "customer_id": "customer_id",
        "item_id": "item_id",
        "item_name": "item_name",
        "unit_price": "unit_price",
        "quantity": "item_count",
        "purchase_time": "purchase_time",
    }


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"rfm\.binz"):
        load_settings(_write(tmp_path, "rfm:\n  binz: 4\n"))
    with pytest.raises(ConfigError, match=r"input\.columns.*customer_name"):
        load_settings(
            _write(
                tmp_path,
                "input:\n  columns:\n    customer_name: x\n    customer_id: c\n"
                "    purchase_time: t\n    amount: a\n",
            )
        )


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"'rfm\.bins' must be of type int"):
        load_settings(_write(tmp_path, "rfm:\n  bins: five\n"))
    with pytest.raises(ConfigError, match=r"'input\.format' must be one of csv, parquet, delta"):
        load_settings(_write(tmp_path, "input:\n  format: xlsx\n"))
    with pytest.raises(ConfigError, match=r"'rfm\.as_of' must be a date written YYYY-MM-DD"):
        load_settings(None, ["rfm.as_of=yesterday"])


def test_set_overrides_dotted_keys_and_parses_values():
    settings = load_settings(
        REPO / "lib" / "custseg" / "defaults" / "local.yaml",
        [
            "rfm.bins=4",
            "clustering.k=[3, 6]",
            "input.columns.order_id=InvoiceNo",
            "rfm.as_of=2011-12-10",
        ],
    )
    assert settings.rfm.bins == 4 and settings.clustering.k == [3, 6]
    assert settings.input.columns["order_id"] == "InvoiceNo"
    assert settings.input.columns["quantity"] == "item_count"  # the rest of the mapping stays
    assert settings.rfm.as_of == dt.date(2011, 12, 10)
    with pytest.raises(ConfigError, match=r"unknown config key.*spark\.memory"):
        load_settings(None, ["spark.memory=8g"])
    with pytest.raises(ConfigError, match="dotted.key=value"):
        load_settings(None, ["rfm.bins"])


def test_required_columns_are_checked():
    with pytest.raises(ConfigError, match="purchase_time"):
        load_settings(None, ["input.columns={customer_id: c, amount: a}"])
    with pytest.raises(ConfigError, match="amount or quantity"):
        load_settings(None, ["input.columns={customer_id: c, purchase_time: t, quantity: q}"])
    ok = load_settings(None, ["input.columns={customer_id: c, purchase_time: t, amount: a}"])
    assert ok.input.columns == {"customer_id": "c", "purchase_time": "t", "amount": "a"}


def test_profiles_are_unset_by_default_and_read_from_their_own_block(tmp_path):
    assert Settings().input.profiles is None
    settings = load_settings(
        _write(
            tmp_path,
            "input:\n  profiles:\n    path: /exports/profiles.csv\n"
            "    columns: {customer_id: CustomerID, signup_date: Joined}\n"
            "    attributes: [age, points]\n    date_format: dd/MM/yyyy\n",
        )
    )
    profiles = settings.input.profiles
    assert (profiles.path, profiles.format, profiles.date_format) == (
        "/exports/profiles.csv",
        "csv",
        "dd/MM/yyyy",
    )
    assert profiles.columns == {"customer_id": "CustomerID", "signup_date": "Joined"}
    assert profiles.attributes == ["age", "points"]
    assert settings.input.columns["quantity"] == "item_count"  # the transactions untouched


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input.profiles.format": "xls"}, r"'input\.profiles\.format' must be one of"),
        ({"input.profiles.path": " "}, r"'input\.profiles\.path' must name"),
        ({"input.profiles.columns": {"signup_date": "d"}}, r"must map .* customer_id"),
        ({"input.profiles.columns.age": "a"}, r"input\.profiles\.columns: age"),
        ({"input.profiles.attributes": ["loyalty points"]}, r"letters, digits and _"),
        ({"input.profiles.attributes": ["customer_id"]}, r"maps already"),
        ({"input.profiles.attributes": ["age", "age"]}, r"lists a column twice"),
    ],
)
def test_bad_profile_settings_name_their_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        replace(Settings(), **{"input.profiles.path": "profiles.csv", **changes})


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_write(tmp_path, "rfm: [unclosed\n"))


def test_replace_validates():
    with pytest.raises(ConfigError, match="k_range"):
        replace(Settings(), **{"clustering.k_range": [5, 2]})


def test_name_threshold_is_a_number_of_at_least_zero():
    assert Settings().clustering.name_threshold == 0.35
    assert replace(Settings(), **{"clustering.name_threshold": 1}).clustering.name_threshold == 1.0
    for bad in (-0.1, float("inf")):
        with pytest.raises(
            ConfigError, match=r"'clustering\.name_threshold' must be a number >= 0"
        ):
            replace(Settings(), **{"clustering.name_threshold": bad})


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2024-13-01", "month must be in 1..12"),
        ("2024-02-30", "day is out of range for month"),
        ("2023-02-29", "day is out of range for month"),
    ],
)
def test_impossible_dates_are_config_errors_naming_the_key(tmp_path, text, why):
    with pytest.raises(ConfigError, match=rf"'rfm\.as_of' is not a real date: '{text}' \({why}\)"):
        load_settings(None, [f"rfm.as_of={text}"])
    with pytest.raises(ConfigError, match=r"'cleaning\.max_purchase_time' is not a real date"):
        load_settings(_write(tmp_path, f"cleaning:\n  max_purchase_time: {text}\n"))


def test_dates_are_dates_from_load_time_on(tmp_path):
    settings = load_settings(_write(tmp_path, "rfm:\n  as_of: 2024-02-29\n"))
    assert settings.rfm.as_of == dt.date(2024, 2, 29)
    assert settings.cleaning.min_purchase_time == dt.date(1900, 1, 1)
    assert replace(settings, **{"rfm.as_of": "2024-03-01"}).rfm.as_of == dt.date(2024, 3, 1)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        load_settings(None, ["rfm.as_of=2024-03-01 10:00:00"])  # a time is refused, not cut off
    with pytest.raises(ConfigError, match="after cleaning.min_purchase_time"):
        load_settings(None, ["cleaning.max_purchase_time=1899-12-31"])


def test_impossible_date_exits_2_with_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "custseg.layer4_commands.cli",
            "rfm",
            "--set",
            "rfm.as_of=2024-02-30",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "custseg rfm failed: ConfigError: config key 'rfm.as_of' is not a real date: "
        "'2024-02-30' (day is out of range for month)"
    ]


def test_packaged_demo_config_loads_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_packaged_settings("local.yaml", ["report.path=out/reports"])
    assert settings.warehouse_root == str(tmp_path / "warehouse")
    assert settings.input.path == "data/demo" and settings.report.path == "out/reports"


def test_min_k_and_primary_default_to_three_and_auto():
    clustering = Settings().clustering
    assert (clustering.min_k, clustering.primary, clustering.primary_model) == (3, "auto", None)
    explicit = replace(Settings(), **{"clustering.primary": "bisecting_kmeans_k7"}).clustering
    assert explicit.primary_model == ("bisecting_kmeans", 7)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["clustering.min_k=1"], r"'clustering\.min_k' must lie between 2 and .* \(10\), got 1"),
        (
            ["clustering.k_range=[2, 4]", "clustering.min_k=5"],
            r"'clustering\.min_k' must lie between 2 and the upper end of "
            r"clustering\.k_range \(4\), got 5",
        ),
        (["clustering.min_k=three"], r"'clustering\.min_k' must be of type int"),
        (["clustering.primary=best"], r"'clustering\.primary' must be auto or a model name"),
        (["clustering.primary=kmeans_5"], r"'clustering\.primary' must be auto or a model name"),
        (
            ["clustering.algorithms=[kmeans]", "clustering.primary=bisecting_kmeans_k4"],
            r"'clustering\.primary' names bisecting_kmeans, which is not in clustering\.algorithms",
        ),
        (
            ["clustering.primary=kmeans_k12"],
            r"'clustering\.primary' names k=12, which is neither in clustering\.k_range "
            r"\[2, 10\] nor in clustering\.k \[4, 5\]",
        ),
    ],
)
def test_min_k_and_primary_mistakes_name_their_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(None, overrides)


def test_an_explicit_primary_may_use_a_fixed_k_outside_the_sweep():
    settings = load_settings(
        None,
        ["clustering.k_range=[3, 6]", "clustering.k=[4, 8]", "clustering.primary=kmeans_k8"],
    )
    assert settings.clustering.primary_model == ("kmeans", 8)
    assert (
        load_settings(None, ["clustering.k_range=[2, 2]", "clustering.min_k=2"]).clustering.min_k
        == 2
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["clustering.features=[log_recency, shoe_size]"], "unknown feature 'shoe_size'"),
        (
            ["clustering.features=[log_recency, days_since_signup]"],
            "lists 'days_since_signup', which needs customer profiles",
        ),
    ],
)
def test_features_are_checked_when_the_config_loads(overrides, message):
    """A run must not ingest and score for an hour before its cluster stage finds these."""
    with pytest.raises(ConfigError, match=message):
        load_settings(None, overrides)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("rfm.bins='3'", r"^config key 'rfm\.bins' must be of type int, got str \('3'\)$"),
        ("rfm.bins=3.0", r"^config key 'rfm\.bins' must be of type int, got float \(3\.0\)$"),
        ("rfm.bins=true", r"^config key 'rfm\.bins' must be of type int, got bool \(True\)$"),
        (
            "cleaning.max_quarantine_share=yes",
            r"'cleaning\.max_quarantine_share' must be of type float, got bool \(True\)$",
        ),
        ("input.csv.header=1", r"'input\.csv\.header' must be of type bool, got int \(1\)$"),
        ("clustering.k=[2, x]", r"'clustering\.k\[1\]' must be of type int, got str \('x'\)$"),
        ("rfm=[1]", r"^config key 'rfm' must be a mapping, got list \(\[1\]\)$"),
    ],
)
def test_only_lossless_coercion_is_made(override, message):
    """YAML already types its values: text is never read as a number, nor a number as a
    flag; the one coercion made is a whole number for a float."""
    with pytest.raises(ConfigError, match=message):
        load_settings(None, [override])
    share = load_settings(None, ["cleaning.max_quarantine_share=1"]).cleaning.max_quarantine_share
    assert share == 1.0 and isinstance(share, float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("rfm.bins=1", r"^config key 'rfm\.bins' must be at least 2, got 1$"),
        ("rfm.window_days=0", r"'rfm\.window_days' must be a positive number of days, got 0$"),
        ("clustering.max_iter=0", r"'clustering\.max_iter' must be at least 1, got 0$"),
        ("clustering.k=[4, 1]", r"'clustering\.k\[1\]' must be at least 2, got 1$"),
        (
            "cleaning.max_quarantine_share=1.5",
            r"'cleaning\.max_quarantine_share' must be a share in \[0, 1\], got 1\.5$",
        ),
        (
            "clustering.min_cluster_share=.nan",
            r"'clustering\.min_cluster_share' must be a finite number, got nan$",
        ),
        (
            "clustering.algorithms=[kmeans, dbscan]",
            r"'clustering\.algorithms\[1\]' must be one of kmeans, bisecting_kmeans, got 'dbscan'$",
        ),
        ("cleaning.returns=3", r"'cleaning\.returns' must be one of drop, net, got 3$"),
        (
            "spark.shuffle_partitions=2.5",
            r"'spark\.shuffle_partitions' must be auto or a number >= 1, got 2\.5$",
        ),
        (
            "spark.driver_memory=4x",
            r"'spark\.driver_memory' must be auto or a JVM size such as 4g, got '4x'$",
        ),
        (
            "clustering.k_range=[5, 2]",
            r"'clustering\.k_range' must be \[low, high\] with 2 <= low <= high, got \[5, 2\]$",
        ),
    ],
)
def test_range_and_choice_mistakes_name_the_key_the_value_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(None, [override])


def test_unknown_keys_of_a_block_are_listed_together_with_the_known_ones():
    with pytest.raises(ConfigError) as error:
        load_settings(None, ["rfm.binz=3", "rfm.foo=4"])
    assert str(error.value) == (
        "unknown config key(s): rfm.binz, rfm.foo (known under 'rfm': as_of, bins, "
        "include_non_positive_monetary, segments_file, window_days)"
    )
    with pytest.raises(ConfigError, match=r"^unknown config key\(s\): zzz \(known under '<root>'"):
        load_settings(None, ["zzz=1"])


def test_settings_are_frozen_and_round_trip_through_replace():
    settings = load_settings(None, ["rfm.as_of=2024-02-29", "clustering.k=[3, 6]"])
    with pytest.raises(ValueError, match="frozen"):
        settings.rfm.bins = 3
    assert replace(settings) == settings
    assert replace(settings, **{"rfm.bins": 4}).rfm == settings.rfm.model_copy(update={"bins": 4})
