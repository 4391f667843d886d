"""The `models` area's client protocol, `ModelsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/models.py`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from relayml.domain.models import (
    AliasMove,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    Requirement,
)
from relayml.domain.policy import Policy


class ModelsApi(Protocol):
    """`services.models`: the registry — versions, aliases, promotion requests, policy.

    Files cross the boundary: `register` takes the local artifact file (written by
    `relayml.flavors.save_model`), and its golden-set file when given
    (`relayml.flavors.golden.build_golden`), and uploads them before registering (the
    service's `upload`, then `register` of those blobs); `download` and `download_golden`
    write the version's artifact or golden set to `dest`, verified against its sha256, and
    return its path.
    """

    def register(
        self,
        project: str,
        name: str,
        artifact_file: str | os.PathLike[str],
        *,
        flavor: str,
        environment: dict[str, Any],
        signature: dict[str, Any] | None = None,
        run_id: str | None = None,
        unsafe_pickle: bool = False,
        description: str = "",
        tags: dict[str, str] | None = None,
        golden_file: str | os.PathLike[str] | None = None,
    ) -> ModelVersion: ...
    def get(self, project: str, ref: str) -> ModelVersion: ...
    def download(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path: ...
    def download_golden(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path: ...
    def list_models(self, project: str) -> list[ModelInfo]: ...
    def versions(self, project: str, name: str) -> list[ModelVersion]: ...
    def history(self, project: str, name: str, alias: str | None = None) -> list[AliasMove]: ...
    def set_alias(self, project: str, ref: str, alias: str, reason: str = "") -> ModelVersion: ...
    def set_tags(self, project: str, ref: str, tags: dict[str, str]) -> ModelVersion: ...
    def archive(self, project: str, ref: str) -> ModelVersion: ...
    def card(self, project: str, name: str) -> ModelCard: ...
    def set_card(self, project: str, name: str, fields: dict[str, str]) -> ModelCard: ...
    def set_requirement(
        self,
        project: str,
        name: str,
        metric: str,
        min: float | None = None,
        max: float | None = None,
    ) -> Requirement: ...
    def requirements(self, project: str, name: str) -> list[Requirement]: ...
    def policy(self, project: str) -> Policy: ...
    def apply_policy(self, project: str, text: str) -> Policy: ...
    def evaluate(
        self,
        project: str,
        ref: str,
        dataset: str,
        target: str,
        slices: list[str] | None = None,
    ) -> dict[str, Any]: ...
    def report(self, project: str, ref: str) -> dict[str, Any]: ...
    def promote(
        self,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
    ) -> PromotionRequest: ...
    def get_request(self, request_id: str) -> PromotionRequest: ...
    def list_requests(
        self,
        project: str,
        state: str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]: ...
    def approve(
        self, request_id: str, note: str = "", override_reason: str | None = None
    ) -> PromotionRequest: ...
    def reject(self, request_id: str, reason: str) -> PromotionRequest: ...
    def withdraw(self, request_id: str, reason: str = "") -> PromotionRequest: ...
    def comment(self, request_id: str, text: str) -> PromotionRequest: ...
    def inbox(self, project: str | None = None) -> list[InboxItem]: ...
