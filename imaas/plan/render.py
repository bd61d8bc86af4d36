"""Every Kubernetes object of a plan as a YAML manifest, for review and for schema validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from imaas.declarations import types
from imaas.inputs.problems import UsageError
from imaas.plan.record import SECRET_MARK, Plan, masked

CLUSTER_SCOPE = "_cluster"
RENDER_MARKER = ".imaas-render"


def without_secrets(value: Any) -> Any:
    """`value` as a manifest holds it: a value marked secret keeps its shape (a Secret's `stringData` keys) with
    every text replaced by a placeholder, so that the manifest is a valid object and shows no secret."""
    if isinstance(value, dict):
        if SECRET_MARK in value:
            return masked(value.get("value"))
        return {key: without_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def kubernetes_objects(plan: Plan) -> Iterator[dict[str, Any]]:
    """The inputs of every custom Kubernetes resource that is a Kubernetes object (not a Helm release or a provider)."""
    for resource in plan.resources:
        if (
            resource.custom
            and resource.type.startswith(types.KUBERNETES_PACKAGE)
            and {"apiVersion", "kind"} <= resource.inputs.keys()
        ):
            yield resource.inputs


def manifest_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata", {})
    return (
        Path(metadata.get("namespace", CLUSTER_SCOPE)) / f"{obj['kind'].lower()}-{metadata.get('name', 'unnamed')}.yaml"
    )


def check_target(directory: Path) -> None:
    """Refuse a folder that a rendering could not replace without deleting what is not its own."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--render {directory}: not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / RENDER_MARKER).exists():
        raise UsageError(f"--render {directory}: not empty and not an earlier rendering; choose an empty folder")


def render(plan: Plan, directory: Path) -> int:
    """Write one file per object under `directory`, replacing an earlier rendering; return how many.

    Only a folder that is empty, or that holds an earlier rendering (it has the marker file), is written to: what
    is replaced is deleted first, and nothing else may be."""
    check_target(directory)
    marker = directory / RENDER_MARKER
    for stale in directory.glob("*/*.yaml"):
        stale.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text("Kubernetes objects of an offline plan, written by `imaas plan --render`.\n", encoding="utf-8")
    count = 0
    for obj in kubernetes_objects(plan):
        path = directory / manifest_path(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(without_secrets(obj), sort_keys=False, explicit_start=True), encoding="utf-8")
        count += 1
    return count
