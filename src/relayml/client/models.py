"""The `models` area's operations, `ModelsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/models.py`."""

from __future__ import annotations

from relayml.client.files import ModelFiles
from relayml.client.ops import file_op, op
from relayml.services.models import ModelService


class ModelsApi:
    """`services.models`: the registry — versions, aliases, promotion requests, policy.

    Files cross the boundary: `register` takes the local artifact file (written by
    `relayml.flavors.save_model`), and its golden-set file when given
    (`relayml.flavors.golden.build_golden`), and uploads them before registering (the
    service's `upload`, then `register` of those blobs); `download` and `download_golden`
    write the version's artifact or golden set to `dest`, verified against its sha256, and
    return its path.
    """

    register = file_op(ModelFiles.register)
    get = op(ModelService.get)
    download = file_op(ModelFiles.download)
    download_golden = file_op(ModelFiles.download_golden)
    list_models = op(ModelService.list_models)
    versions = op(ModelService.versions)
    history = op(ModelService.history)
    set_alias = op(ModelService.set_alias)
    set_tags = op(ModelService.set_tags)
    archive = op(ModelService.archive)
    card = op(ModelService.card)
    set_card = op(ModelService.set_card)
    set_requirement = op(ModelService.set_requirement)
    requirements = op(ModelService.requirements)
    policy = op(ModelService.policy)
    apply_policy = op(ModelService.apply_policy)
    evaluate = op(ModelService.evaluate)
    report = op(ModelService.report)
    promote = op(ModelService.promote)
    get_request = op(ModelService.get_request)
    list_requests = op(ModelService.list_requests)
    approve = op(ModelService.approve)
    reject = op(ModelService.reject)
    withdraw = op(ModelService.withdraw)
    comment = op(ModelService.comment)
    inbox = op(ModelService.inbox)
