"""The `pipelines` area's operations, `PipelinesApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/pipelines.py`."""

from __future__ import annotations

from relayml.client.files import PipelineFiles
from relayml.client.ops import file_op, op
from relayml.services.pipelines import PipelineService


class PipelinesApi:
    """`services.pipelines`: the steps run where the caller runs; their state is recorded here.

    Files cross the boundary: `put_blob` takes a local file (the service, a stream of chunks)
    and `download_blob` writes to `dest` and returns its path (the service returns the bytes).
    """

    register = op(PipelineService.register)
    list_pipelines = op(PipelineService.list_pipelines)
    get_pipeline = op(PipelineService.get_pipeline)
    pause = op(PipelineService.pause)
    resume = op(PipelineService.resume)
    backfill_plan = op(PipelineService.backfill_plan)
    start_run = op(PipelineService.start_run)
    due_triggers = op(PipelineService.due_triggers)
    record_step = op(PipelineService.record_step)
    finish_run = op(PipelineService.finish_run)
    list_runs = op(PipelineService.list_runs)
    get_run = op(PipelineService.get_run)
    find_cached = op(PipelineService.find_cached)
    put_blob = file_op(PipelineFiles.put_blob)
    download_blob = file_op(PipelineFiles.download_blob)
