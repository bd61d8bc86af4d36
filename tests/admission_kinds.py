"""The kinds an admission rule matches, with their schemas, and the smallest objects of each that the API server can
hand a ValidatingAdmissionPolicy: only the fields the schema requires (core kinds: Kubernetes' own OpenAPI schemas,
from kubernetes-validate; the Prometheus Operator's, External Secrets
Operator's, cert-manager's and the Gateway API's kinds: their CRD schemas, tests/schemas). Under cel-go's semantics
a policy that selects a field such an object lacks fails, and failing closed refuses every object of the kind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
from kube_schemas import KUBERNETES_VERSION

from imaas.declarations.admission import AdmissionRule

"""The schemas of the oldest Kubernetes the platform supports with image volumes (1.33+) enabled by default."""
CRDS = Path(__file__).resolve().parent / "schemas" / "prometheus-operator-crds.admission.json"
RUNTIME_CRDS = CRDS.with_name("runtime-crds.admission.json")
"""External Secrets Operator's, cert-manager's and the Gateway API's kinds (tests/schemas/README.md)."""
_KUBERNETES_SCHEMAS = (
    Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}.0-local"
)
MAX_DEPTH = 40


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    schema: dict[str, Any]
    defs: dict[str, Any]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower == "endpoints":
        return lower
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


@cache
def _core_kinds() -> dict[tuple[str, str, str], Kind]:
    defs = json.loads((_KUBERNETES_SCHEMAS / "_definitions.json").read_text())["$defs"]
    kinds = {}
    for definition in defs.values():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            if "metadata" in (definition.get("properties") or {}):
                key = (gvk["group"], gvk["version"], _plural(gvk["kind"]))
                kinds[key] = Kind(gvk["group"], gvk["version"], gvk["kind"], definition, defs)
    return kinds


@cache
def _custom_kinds() -> dict[tuple[str, str, str], Kind]:
    crds = {**json.loads(CRDS.read_text())["kinds"], **json.loads(RUNTIME_CRDS.read_text())["kinds"]}
    # A CRD leaves `metadata` open: it is the API server's ObjectMeta, as for the core kinds.
    defs = json.loads((_KUBERNETES_SCHEMAS / "_definitions.json").read_text())["$defs"]
    meta = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    return {
        (crd["group"], version, plural): Kind(
            crd["group"],
            version,
            crd["kind"],
            {**schema, "properties": {**schema["properties"], "metadata": meta}},
            defs,
        )
        for plural, crd in crds.items()
        for version, schema in crd["versions"].items()
    }


def matched_kinds(rule: AdmissionRule) -> Iterator[tuple[Kind, tuple[str, ...]]]:
    """Every kind (at every version) the rule's match constraints select, with the operations they select it for.
    A subresource (`pods/ephemeralcontainers`) is its parent's kind. Fails for a kind with no known schema."""
    known = {**_core_kinds(), **_custom_kinds()}
    for match in rule.matches:
        for group in match.api_groups:
            for resource in match.resources:
                plural = resource.split("/")[0]
                versions = [
                    (g, version, p)
                    for (g, version, p) in known
                    if group in (g, "*")
                    and plural in (p, "*")
                    and (version in match.api_versions or "*" in match.api_versions)
                ]
                assert versions, f"{rule.name}: no schema for {group or 'core'}/{resource}"
                for key in versions:
                    yield known[key], match.operations


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {**defs[schema["$ref"].rpartition("/")[2]], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    types = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    types.discard("null")
    if "properties" in schema or "additionalProperties" in schema:
        types.add("object")
    return types


def _int_or_string(schema: dict[str, Any]) -> bool:
    one_of = schema.get("oneOf") or []
    return bool(schema.get("x-kubernetes-int-or-string")) or {t for s in one_of for t in _types(s)} == {
        "string",
        "integer",
    }


@dataclass(frozen=True)
class Shape:
    """Which optional fields a generated object holds, beside the required ones."""

    name: str
    mentioned: frozenset[str] = frozenset()
    """Optional fields by name: those the rule's expressions select."""
    scalars: bool = False
    """Whether mentioned fields of scalar type are set, or only the objects and lists they hang from."""
    int_or_string: str = "integer"


def _value(schema: dict[str, Any], defs: dict[str, Any], shape: Shape, depth: int = 0) -> Any:
    schema = _resolve(schema, defs)
    if _int_or_string(schema):
        return 1 if shape.int_or_string == "integer" else "50%"
    if schema.get("enum"):
        return schema["enum"][0]
    types = _types(schema)
    if "object" in types:
        if depth > MAX_DEPTH:
            return {}
        required = set(schema.get("required") or [])
        obj = {}
        for name, child in (schema.get("properties") or {}).items():
            child_types = _types(_resolve(child, defs))
            structural = bool(child_types & {"object", "array"}) and not _int_or_string(_resolve(child, defs))
            if name in required or (name in shape.mentioned and (shape.scalars or structural)):
                obj[name] = _value(child, defs, shape, depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and "properties" not in schema and shape.mentioned and shape.scalars:
            obj["x"] = _value(extra, defs, shape, depth + 1)
        return obj
    if "array" in types:
        items = _resolve(schema.get("items") or {}, defs)
        if not shape.mentioned or (not shape.scalars and not _types(items) & {"object", "array"}):
            return []
        return [_value(items, defs, shape, depth + 1)]
    if "integer" in types or "number" in types:
        return 1
    if "boolean" in types:
        return False
    return "x"


def _mentioned(rule: AdmissionRule) -> frozenset[str]:
    text = json.dumps(rule.policy_spec())
    return frozenset(re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", text)) | frozenset(
        re.findall(r"has\(\w+\.([A-Za-z_][A-Za-z0-9_]*)", text)
    )


def shapes(rule: AdmissionRule) -> list[Shape]:
    mentioned = _mentioned(rule)
    return [
        Shape("required fields only"),
        Shape("required fields, and the objects and lists the rule reads", mentioned),
        Shape("required fields, and every field the rule reads", mentioned, scalars=True),
        Shape("required fields, and every field the rule reads, int-or-string as text", mentioned, True, "string"),
    ]


def minimal_object(kind: Kind, shape: Shape) -> dict[str, Any]:
    """An object of `kind` holding its schema's required fields (and the optional ones `shape` names), as the API
    server hands it to admission: with its kind, apiVersion, name and namespace."""
    obj = _value(kind.schema, kind.defs, shape)
    obj.update(apiVersion=kind.api_version, kind=kind.kind)
    obj.setdefault("metadata", {}).update(name="minimal", namespace="orders-dev")
    return obj
