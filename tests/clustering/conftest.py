"""The ``make_rfm`` fixture: a conformed customer_rfm frame of behaviour groups."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.clustering.rfm_builders import AS_OF, customer_rfm_frame, rfm_rows


@pytest.fixture
def make_rfm(spark):
    def build(
        group_sizes: dict,
        *,
        seed: int = 7,
        shift: float = 1.0,
        as_of: dt.date = AS_OF,
        key_prefix: str = "c",
    ):
        return customer_rfm_frame(spark, rfm_rows(group_sizes, seed, shift, key_prefix), as_of)

    return build
