"""Which tenant a planned resource belongs to: for grouping a diff and for scoping partial plans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imaas.declarations import types
from imaas.declarations.naming import TENANT_LABEL
from imaas.plan.record import PlannedResource

TENANT_TYPE = types.TENANT


def tenant_of(resource: PlannedResource, resources: Mapping[str, PlannedResource]) -> str | None:
    """The tenant a resource belongs to: its `imaas.io/tenant` label or tag, else the Tenant component above it."""
    current: PlannedResource | None = resource
    seen: set[str] = set()
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        label = _tenant_label(current.inputs)
        if label:
            return label
        if current.type == TENANT_TYPE:
            return current.name
        if current.parent is None:
            return None
        parent = resources.get(current.parent)
        if parent is None:
            # A parent outside both plans: its URN still names its type and name.
            type_, name = urn_type_and_name(current.parent)
            return name if type_ == TENANT_TYPE else None
        current = parent
    return None


def urn_type_and_name(urn: str) -> tuple[str, str]:
    """`urn:pulumi:dev::imaas::a$b:index:Tenant::payments` as (`b:index:Tenant`, `payments`)."""
    parts = urn.split("::", 3)
    if len(parts) != 4:
        return "", ""
    return parts[2].rsplit("$", 1)[-1], parts[3]


def _tenant_label(inputs: Mapping[str, Any]) -> str | None:
    metadata = inputs.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    for source in (labels, inputs.get("tags")):
        if isinstance(source, Mapping) and isinstance(source.get(TENANT_LABEL), str) and source[TENANT_LABEL]:
            return str(source[TENANT_LABEL])
    return None


def service_of(resource: PlannedResource, resources: Mapping[str, PlannedResource]) -> str | None:
    """The Service component a resource belongs to (its name: the service's repository name), or None."""
    current: PlannedResource | None = resource
    seen: set[str] = set()
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        if current.type == types.SERVICE:
            return current.name
        current = resources.get(current.parent) if current.parent else None
    return None
