"""Settings: the YAML keys are a public contract, so every mistake must name its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from custseg.config import ConfigError, Settings, load_settings, replace

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    return path


def test_shipped_configs_load():
    local = load_settings(REPO / "conf" / "local.yaml")
    assert local.input.columns["quantity"] == "item_count"
    assert local.table_path("customer_rfm").endswith("/warehouse/customer_rfm")
    cluster = load_settings(REPO / "conf" / "cluster.yaml")
    assert cluster.table_path("transactions") == "s3a://your-bucket/custseg/transactions"
    retail = load_settings(REPO / "conf" / "examples" / "online_retail.yaml")
    assert retail.input.columns["order_id"] == "InvoiceNo" and retail.rfm.as_of == "2011-12-10"


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
    with pytest.raises(ConfigError, match=r"'rfm\.as_of' must be an ISO date"):
        load_settings(None, ["rfm.as_of=yesterday"])


def test_set_overrides_dotted_keys_and_parses_values():
    settings = load_settings(
        REPO / "conf" / "local.yaml",
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
    assert settings.rfm.as_of == "2011-12-10"
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
