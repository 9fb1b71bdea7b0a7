"""The small whole-pipeline run that the cluster and fault tests repeat under their own
conditions (submitted to a cluster, killed, retried, raced) and compare table by table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from custseg.layer4_commands import cli
from custseg.layer4_commands.demo import generate_transactions

REPO = Path(__file__).resolve().parents[1]
LOCAL_CONFIG = REPO / "lib" / "custseg" / "defaults" / "local.yaml"
SMALL_RUN_KEY = "small-run-key-0123456789abcdef"


@dataclasses.dataclass(frozen=True)
class SmallRun:
    """Inputs, key file and overrides of the run, and the warehouse of its local run."""

    root: Path
    overrides: tuple[str, ...]
    warehouse: Path

    def flags(self, *more: str) -> list[str]:
        """``--set`` arguments for the CLI: the shared overrides, then ``more``."""
        return [arg for item in [*self.overrides, *more] for arg in ("--set", item)]

    def cli(self, command: str, warehouse: Path, *more: str) -> list[str]:
        """Arguments of ``custseg <command>`` on ``warehouse`` (report beside it)."""
        flags = self.flags(
            f"warehouse={warehouse}", f"report.path={warehouse.parent / 'report'}", *more
        )
        return [command, "--conf", str(LOCAL_CONFIG), *flags]


def run_small_pipeline(root: Path) -> SmallRun:
    """250 customers over three months, with a key file (no key in the environment), run
    from ingest to report in local mode in this process."""
    generate_transactions(root / "raw", customers=250, months=3, seed=11)
    key_file = root / "hash.key"
    key_file.write_text(SMALL_RUN_KEY + "\n")
    overrides = (
        f"input.path={root / 'raw'}",
        f"pseudonym.key_file={key_file}",
        "pseudonym.key_env=CUSTSEG_SMALL_RUN_KEY_UNSET",
        "rfm.as_of=2021-04-01",
        "clustering.k_range=[2,3]",
        "clustering.k=[3]",
        "clustering.partitions=2",
        "spark.shuffle_partitions=2",
    )
    run = SmallRun(root, overrides, root / "local-warehouse")
    assert cli.main(run.cli("run", run.warehouse)) == 0
    return run
