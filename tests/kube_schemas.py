"""Kubernetes' own object schemas (kubernetes-validate), strictly, at the version the clusters run.

The library reads and parses the schema files at every call (the definitions file is several megabytes), which was
most of the cost of validating a plan's objects: each file is read once per test process here instead."""

from __future__ import annotations

from functools import cache
from typing import Any

import kubernetes_validate
from kubernetes_validate import utils

KUBERNETES_VERSION = "1.34"
"""The Kubernetes version whose schemas judge the objects: the newest the pinned kubernetes-validate knows."""

utils.schema_contents = cache(utils.schema_contents)  # read-only use below: the library never changes a schema

ValidationError = kubernetes_validate.ValidationError


def validate_kubernetes(obj: dict[str, Any]) -> None:
    """Raise ValidationError when `obj` does not fit its Kubernetes schema (unknown fields included)."""
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
