"""The benchmark's data: seed-shaped, the same for a seed, written block by block."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from seed_data import (
    COLUMNS,
    FILE_GLOB,
    SeedShape,
    count_label,
    finished_counts,
    generate_seed_shaped,
    parse_count,
)

# Small blocks, so that a small file set still spans several blocks.
SMALL = SeedShape(rows=30_000, seed=3, block_customers=1_500)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed_shaped")
    counts = generate_seed_shaped(folder, SMALL)
    lines = pd.concat(
        [
            pd.read_csv(path, dtype=str, keep_default_na=False)
            for path in sorted(folder.glob(FILE_GLOB))
        ]
    )
    return folder, counts, lines


def test_about_the_rows_asked_for_in_twelve_month_files_of_several_blocks(written):
    folder, counts, lines = written
    assert len(sorted(folder.glob(FILE_GLOB))) == 12
    assert list(lines.columns) == list(COLUMNS)
    assert len(lines) == counts["rows"]
    assert abs(counts["rows"] - SMALL.rows) < 0.01 * SMALL.rows
    assert counts["blocks"] > 1


def test_seed_shape_lines_per_customer_and_heavy_tail(written):
    _, counts, lines = written
    assert 5.0 < counts["rows"] / counts["customers"] < 6.5
    ids = lines["customer_id"].str.removesuffix(".0")
    per_customer = ids[ids != ""].value_counts()
    assert (per_customer <= 3).mean() > 0.4  # most customers buy little
    assert per_customer.max() > 20 * per_customer.median()  # a few buy a lot


def test_carries_the_damage_of_real_exports(written):
    _, counts, lines = written
    assert (lines["customer_id"] == "").any()
    assert lines["customer_id"].str.endswith(".0").any()
    assert (lines["unit_price"] == "N/A").any()
    assert lines["item_count"].str.startswith("-").any()
    assert (lines["purchase_time"] == "not a date").any()
    assert lines.duplicated().sum() >= counts["duplicates"] > 0


def test_same_shape_same_bytes_and_the_marker_names_the_shape(written, tmp_path):
    folder, counts, _ = written
    again = generate_seed_shaped(tmp_path, SMALL)
    assert again == counts
    for path in sorted(folder.glob(FILE_GLOB)):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    assert finished_counts(tmp_path, SMALL) == counts
    assert finished_counts(tmp_path, dataclasses.replace(SMALL, seed=4)) is None


def test_counts_read_with_suffixes_and_back():
    assert parse_count("200k") == 200_000
    assert parse_count("16M") == 16_000_000
    assert parse_count("1.5M") == 1_500_000
    assert count_label(100_000_000) == "100M"
    assert count_label(parse_count("200k")) == "200k"
    with pytest.raises(ValueError):
        parse_count("lots")
