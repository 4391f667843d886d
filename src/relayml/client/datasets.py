"""The `datasets` area's operations, `DatasetsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/datasets.py`."""

from __future__ import annotations

from relayml.client.files import DatasetFiles
from relayml.client.ops import file_op, op
from relayml.services.datasets import DatasetService


class DatasetsApi:
    """`services.datasets`: versioned datasets, quarantine and lineage.

    Files cross the boundary: `publish` takes the local Parquet file the caller wrote and
    uploads it before publishing (the service's `upload`, then `publish` of that blob);
    `download` writes the version's Parquet file to `dest` and returns its path.
    """

    publish = file_op(DatasetFiles.publish)
    get = op(DatasetService.get)
    download = file_op(DatasetFiles.download)
    sketch = op(DatasetService.sketch)
    list_datasets = op(DatasetService.list_datasets)
    versions = op(DatasetService.versions)
    lineage = op(DatasetService.lineage)
    release = op(DatasetService.release)
    quarantine = op(DatasetService.quarantine)
    deprecate = op(DatasetService.deprecate)
    undeprecate = op(DatasetService.undeprecate)
    installed_checks = op(DatasetService.installed_checks)
    list_trusted_checks = op(DatasetService.list_trusted_checks)
    trust_check = op(DatasetService.trust_check)
    untrust_check = op(DatasetService.untrust_check)
    use = op(DatasetService.use)
