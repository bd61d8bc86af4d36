"""Validation of custom resources against the upstream CRD schemas vendored in tests/schemas/, strictly: a field
the CRD does not define is an error, as `kubectl apply --validate=strict` would make it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parent / "schemas"
SCHEMA_FILES = {
    ("argoproj.io/v1alpha1", "AppProject"): "argocd-appproject.schema.json",
    ("argoproj.io/v1alpha1", "Application"): "argocd-application.schema.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "prometheus-podmonitor.schema.json",
    ("monitoring.coreos.com/v1", "Prometheus"): "prometheus-prometheus.schema.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheus-prometheusrule.schema.json",
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): "prometheus-alertmanagerconfig.schema.json",
    ("external-secrets.io/v1", "SecretStore"): "external-secrets-secretstore.schema.json",
    ("external-secrets.io/v1", "ExternalSecret"): "external-secrets-externalsecret.schema.json",
    ("cert-manager.io/v1", "Certificate"): "cert-manager-certificate.schema.json",
    ("gateway.networking.k8s.io/v1", "Gateway"): "gateway-api-gateway.schema.json",
    ("gateway.networking.k8s.io/v1", "ListenerSet"): "gateway-api-listenerset.schema.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway-api-httproute.schema.json",
}


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if "properties" in strict and "additionalProperties" not in strict:
        strict["additionalProperties"] = bool(strict.get("x-kubernetes-preserve-unknown-fields"))
    return strict


@cache
def validator(api_version: str, kind: str) -> jsonschema.Validator:
    schema = json.loads((SCHEMAS / SCHEMA_FILES[(api_version, kind)]).read_text())
    schema.pop("x-source", None)
    schema.pop("x-note", None)
    # The object's metadata is the API server's ObjectMeta, which the CRD schema leaves open.
    schema = _strict(schema)
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def is_custom(obj: dict[str, Any]) -> bool:
    return (obj["apiVersion"], obj["kind"]) in SCHEMA_FILES


def validate_custom(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `obj` does not fit its CRD."""
    validator(obj["apiVersion"], obj["kind"]).validate(obj)
