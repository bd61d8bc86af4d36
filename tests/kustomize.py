"""The real kustomize (`kubectl kustomize`) on the service template's manifests, as the tests' only renderer, and
what Argo CD writes into a kustomization before it renders it for an Application."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import WAIT_SECONDS

KUBECTL_HINT = "kubectl (which carries kustomize) is not installed: the template's manifests are rendered with it"


def build(directory: Path) -> list[dict[str, Any]]:
    """The objects `kustomize build directory` prints; a kustomization it refuses fails the test with its error."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(KUBECTL_HINT)
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=WAIT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise KustomizeError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


class KustomizeError(Exception):
    """kustomize refused to build a kustomization."""


def as_argocd_renders(
    overlay: Path,
    *,
    name_prefix: str,
    common_labels: dict[str, str],
    patches: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """What Argo CD renders for an Application whose kustomize source sets `namePrefix`, `commonLabels` and
    `patches` on `overlay` (argoproj/argo-cd util/kustomize/kustomize.go): in its checkout it runs `kustomize edit
    set nameprefix` and `kustomize edit add label` (which write `namePrefix` and `commonLabels`), appends the
    patches to the kustomization's own, then builds. `overlay` must be a copy: it is edited in place."""
    path = overlay / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    kustomization["namePrefix"] = name_prefix
    kustomization["commonLabels"] = {**kustomization.get("commonLabels", {}), **common_labels}
    kustomization["patches"] = [*kustomization.get("patches", []), *patches]
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    return build(overlay)


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [obj for obj in objects if obj["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, got {len(matches)}"
    return matches[0]
