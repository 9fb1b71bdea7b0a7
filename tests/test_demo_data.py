"""The demo generator's profile file: the same for a seed, signed up before buying, a few
customers missing, and the transaction files the same as without it."""

from __future__ import annotations

import pandas as pd

from custseg.layer4_commands.demo import generate_transactions


def test_profiles_sign_up_before_the_first_purchase_and_leave_transactions_alone(tmp_path):
    plain = generate_transactions(tmp_path / "plain", customers=200, months=2, seed=5)
    counts = generate_transactions(
        tmp_path / "raw", customers=200, months=2, seed=5, profiles_file=tmp_path / "p.csv"
    )
    generate_transactions(
        tmp_path / "again", customers=200, months=2, seed=5, profiles_file=tmp_path / "q.csv"
    )

    for path in sorted((tmp_path / "plain").glob("*.csv")):
        assert (tmp_path / "raw" / path.name).read_bytes() == path.read_bytes()
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "q.csv").read_bytes()
    profiles = pd.read_csv(tmp_path / "p.csv", dtype=str)
    assert list(profiles.columns) == ["customer_id", "signup_date", "age", "loyalty_points"]
    assert len(profiles) == counts["profiles"] and 0 < plain["customers"] - len(profiles) < 20
    lines = pd.concat(pd.read_csv(p, dtype=str) for p in (tmp_path / "plain").glob("*.csv"))
    first = pd.to_datetime(
        lines.groupby("customer_id")["purchase_time"].min(), errors="coerce"
    ).rename("first")
    joined = profiles.join(first, on="customer_id").dropna()  # ids only damaged lines carry
    assert len(joined) > 0.9 * len(profiles)
    assert (pd.to_datetime(joined["signup_date"]) < joined["first"]).all()
