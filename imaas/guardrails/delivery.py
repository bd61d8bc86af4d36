"""Guardrails on delivery: the tenants' registries keep their images, and each CI role trusts only its tenant's own
repositories and branches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from imaas.guardrails.framework import Context, Index, Resource
from imaas.spec import delivery, naming, types


def registry_safe(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for repository in index(types.ECR_REPOSITORY):
        inputs = repository.inputs
        if inputs.get("imageTagMutability") != "IMMUTABLE":
            yield repository, "image tags are mutable"
        if not (inputs.get("imageScanningConfiguration") or {}).get("scanOnPush"):
            yield repository, "images are not scanned on push"
        if inputs.get("forceDelete"):
            yield repository, "force_delete would delete its images with it"


def ci_trust_exact(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for role in index(types.IAM_ROLE):
        policy = role.inputs.get("assumeRolePolicy")
        document = json.loads(policy) if isinstance(policy, str) else policy or {}
        for statement in document.get("Statement") or []:
            federated = (statement.get("Principal") or {}).get("Federated", "")
            if delivery.GITHUB_OIDC_HOST not in str(federated):
                continue
            yield from _trust_problems(role, statement, context)


def _trust_problems(role: Resource, statement: dict[str, Any], context: Context) -> Iterator[tuple[Resource, str]]:
    tenant = context.tenants.get((role.inputs.get("tags") or {}).get(naming.TENANT_LABEL, ""))
    conditions = statement.get("Condition") or {}
    if set(conditions) != {"StringEquals"}:
        yield role, f"trust conditions {sorted(conditions)} are not all StringEquals"
    equals = conditions.get("StringEquals") or {}
    if equals.get(f"{delivery.GITHUB_OIDC_HOST}:aud") != delivery.STS_AUDIENCE:
        yield role, "trust does not require the sts.amazonaws.com audience"
    subjects = equals.get(f"{delivery.GITHUB_OIDC_HOST}:sub")
    subjects = [subjects] if isinstance(subjects, str) else subjects or []
    allowed = set(delivery.ci_subjects(context.github_owner, tenant)) if tenant else set()
    if not subjects:
        yield role, "trust does not limit the GitHub subject"
    for subject in subjects:
        if subject not in allowed:
            yield role, f"trust admits {subject!r}, which is not one of its tenant's repositories and branches"
