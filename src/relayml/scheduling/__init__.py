"""Run scheduled things when their cron slot comes, whatever their kind.

A *source* lists the schedules of one kind (pipelines, monitors) with their claim state and
starts one for a slot; starting claims the slot through the service layer (a `Conflict` when
another scheduler claimed it first), so each slot runs once however many schedulers tick.
`tick` starts what is due once; `serve` ticks until stopped; `run_cancellable` runs work a
signal must cancel, not cut short (the loops' runners). The rule for which slot is due
lives in `relayml.domain.scheduling.due_slot`.
"""

from __future__ import annotations

from relayml.scheduling.loop import Outcome, Source, repeat, run_cancellable, serve, tick

__all__ = ["Outcome", "Source", "repeat", "run_cancellable", "serve", "tick"]
