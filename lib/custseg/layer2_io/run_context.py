"""What one invocation knows about itself: its id, start time and the as_of it works at.

The as_of is decided once per run (``custseg.layer4_commands.as_of.resolve_as_of``) and
handed to every stage, so all tables written by one ``custseg run`` carry the same date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Identity and start time of one invocation; made by the CLI, passed down.

    ``as_of`` is None until the run has resolved it; stages that work at a date get a
    context where it is set.
    """

    run_id: str
    started_at: dt.datetime
    as_of: dt.date | None = None

    @classmethod
    def start(cls) -> RunContext:
        return cls(run_id=uuid.uuid4().hex, started_at=dt.datetime.now(dt.timezone.utc))

    def at(self, as_of: dt.date) -> RunContext:
        return dataclasses.replace(self, as_of=as_of)
