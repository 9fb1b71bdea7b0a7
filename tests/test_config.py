"""Settings: the YAML keys are a public contract, so every mistake must name its key."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from custseg.config import ConfigError, Settings, load_packaged_settings, load_settings, replace

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


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_write(tmp_path, "rfm: [unclosed\n"))


def test_replace_validates():
    with pytest.raises(ConfigError, match="k_range"):
        replace(Settings(), **{"clustering.k_range": [5, 2]})


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
        [sys.executable, "-m", "custseg.cli", "rfm", "--set", "rfm.as_of=2024-02-30"],
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
