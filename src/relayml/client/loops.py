"""The `loops` area's operations, `LoopsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/loops.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.loops import LoopService


class LoopsApi:
    """`services.loops`: loops (alert -> retrain -> evaluation -> approval -> canary ->
    promotion) and their runs. `advance` and `decide` are what a runner calls each tick
    (`relayml.loops.tick`, which also runs the pipelines)."""

    attach = op(LoopService.attach)
    detach = op(LoopService.detach)
    get = op(LoopService.get)
    list_loops = op(LoopService.list_loops)
    start = op(LoopService.start)
    on_alert = op(LoopService.on_alert)
    get_run = op(LoopService.get_run)
    list_runs = op(LoopService.list_runs)
    stop = op(LoopService.stop)
    advance = op(LoopService.advance)
    decide = op(LoopService.decide)
