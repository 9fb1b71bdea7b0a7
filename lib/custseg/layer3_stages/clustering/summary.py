"""What a cluster or score run did: customers, the models kept or used, the primary model."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from custseg.layer2_io.stage_summary import StageSummary, count, plural


def _without_profile(customers: int | None) -> list[str]:
    """The part about customers without a profile row, when profile features were used."""
    return [] if not customers else [f"{count(customers)} without a profile"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClusterSummary(StageSummary):
    """The as_of clustered, the customers (and how many trained the models), each
    algorithm's chosen k, the models kept and the primary one; ``seconds`` is the stage's own
    measure, the runner's wall time goes on the console line."""

    STAGE: ClassVar[str] = "cluster"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("customers_without_profile",)

    as_of: str
    customers: int
    training_customers: int
    chosen_k: dict[str, int | None]
    primary: str | None
    models: list[str]
    seconds: float
    customers_without_profile: int | None = None

    def parts(self) -> list[str]:
        """``as_of 2022-01-01, 7,812 customers (5,000 sampled for training), k chosen
        kmeans 5 / bisecting_kmeans 4, 4 models kept, primary kmeans_k5``."""
        sampled = (
            f" ({count(self.training_customers)} sampled for training)"
            if self.training_customers != self.customers
            else ""
        )
        chosen = " / ".join(f"{algorithm} {k or '-'}" for algorithm, k in self.chosen_k.items())
        return [
            f"as_of {self.as_of}",
            f"{plural(self.customers, 'customer')}{sampled}",
            *_without_profile(self.customers_without_profile),
            f"k chosen {chosen}",
            f"{plural(len(self.models), 'model')} kept",
            f"primary {self.primary or '-'}",
        ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScoreSummary(StageSummary):
    """The as_of scored, the as_of of the saved models used, those models and the customers
    assigned; ``seconds`` as in ``ClusterSummary``."""

    STAGE: ClassVar[str] = "score"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("customers_without_profile",)

    as_of: str
    model_as_of: str
    models: list[str]
    customers: int
    seconds: float
    customers_without_profile: int | None = None

    def parts(self) -> list[str]:
        """``as_of 2022-02-01, 7,900 customers assigned to 4 models fitted at 2022-01-01``."""
        models = plural(len(self.models), "model")
        return [
            f"as_of {self.as_of}",
            f"{plural(self.customers, 'customer')} assigned to {models} fitted at "
            f"{self.model_as_of}",
            *_without_profile(self.customers_without_profile),
        ]
