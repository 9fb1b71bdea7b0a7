"""The stages, their order, and how one run hands its as_of to each of them.

Each stage lives in its own package (``<stage>/stage.py``), is the only code that writes its
tables, and returns its typed summary (``<stage>/summary.py``: counts, paths), whose
readable line the console prints and whose ``as_dict`` goes to the log file.
Locations are qualified here before any stage sees them (idempotent: the CLI has usually
qualified them already, to print them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pyspark.sql import SparkSession

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import CLUSTER_PROFILES, SEGMENT_SUMMARY
from custseg.layer2_io.locations import qualified_settings
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.stage_summary import StageSummary
from custseg.layer2_io.table_upgrades import upgrade_tables
from custseg.layer3_stages.clustering import score as score_stage
from custseg.layer3_stages.clustering import stage as cluster_stage
from custseg.layer3_stages.ingest import stage as ingest_stage
from custseg.layer3_stages.report import stage as report_stage
from custseg.layer3_stages.rfm import stage as rfm_stage
from custseg.layer4_commands.as_of import resolve_as_of

StageFunction = Callable[[SparkSession, Settings, RunContext], StageSummary]


@dataclasses.dataclass(frozen=True)
class Stage:
    """``upgrades``: tables the stage reads or writes that an older custseg wrote in another
    schema (``layer2_io.table_upgrades``); they are rewritten, if need be, before the stage starts."""

    name: str
    run: StageFunction
    works_at_as_of: bool = True
    upgrades: tuple[str, ...] = ()


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("ingest", ingest_stage.run, works_at_as_of=False),
        Stage("rfm", rfm_stage.run, upgrades=(SEGMENT_SUMMARY.name,)),
        Stage("cluster", cluster_stage.run, upgrades=(CLUSTER_PROFILES.name,)),
        Stage("report", report_stage.run, upgrades=(SEGMENT_SUMMARY.name, CLUSTER_PROFILES.name)),
    )
}
# Single-stage commands: the run's stages plus ``score`` (assigning customers to saved models
# between refits), which ``run`` does not include.
COMMANDS: dict[str, Stage] = {
    **STAGES,
    "score": Stage("score", score_stage.run, upgrades=(CLUSTER_PROFILES.name,)),
}


def with_as_of(spark: SparkSession, settings: Settings, context: RunContext) -> RunContext:
    """The context with its as_of resolved, once: an as_of already set is kept."""
    if context.as_of is not None:
        return context
    return context.at(resolve_as_of(spark, settings.warehouse_root, settings.rfm.as_of))


def _context_for(
    stage: Stage, spark: SparkSession, settings: Settings, context: RunContext
) -> RunContext:
    """The context a stage runs with: its as_of resolved when the stage works at one."""
    return with_as_of(spark, settings, context) if stage.works_at_as_of else context


def command_context(
    spark: SparkSession, settings: Settings, context: RunContext, name: str
) -> RunContext:
    """The context ``run_stage`` would give command ``name``: lets the CLI know (and record)
    the as_of before the stage runs, even when the stage then fails."""
    settings = qualified_settings(spark, settings)
    return _context_for(COMMANDS[name], spark, settings, context)


def _start(
    stage: Stage, spark: SparkSession, settings: Settings, context: RunContext
) -> StageSummary:
    """The stage, after the older tables it names are upgraded (a schema check when current)."""
    upgrade_tables(spark, settings.warehouse_root, stage.upgrades)
    return stage.run(spark, settings, context)


def run_stage(
    spark: SparkSession, settings: Settings, context: RunContext, name: str
) -> StageSummary:
    """One stage, as a single-stage command runs it (the as_of resolved as ``run`` does)."""
    settings = qualified_settings(spark, settings)
    stage = COMMANDS[name]
    return _start(stage, spark, settings, _context_for(stage, spark, settings, context))


def run_all(
    spark: SparkSession,
    settings: Settings,
    context: RunContext,
    on_stage: Callable[[str, StageSummary], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> dict[str, StageSummary]:
    """Every stage in order; the as_of is resolved once, after ingest (so that a default
    as_of sees the files just ingested), and the same value goes to every later stage.
    ``on_start`` hears a stage's name before it starts (resolving the as_of included),
    ``on_stage`` its summary as it finishes."""
    settings = qualified_settings(spark, settings)
    summaries = {}
    for name, stage in STAGES.items():
        if on_start:
            on_start(name)
        context = _context_for(stage, spark, settings, context)
        summaries[name] = _start(stage, spark, settings, context)
        if on_stage:
            on_stage(name, summaries[name])
    return summaries
