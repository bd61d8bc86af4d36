"""The plan JSON of DESIGN section 5, in memory and on disk."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from imaas.inputs.problems import UsageError

SECRET_MARK = "4dabf18193072939515e22adb298388d"
"""The key with which Pulumi's SDK marks a secret value in the recorded inputs (pulumi.runtime.rpc._special_sig_key),
as `{SECRET_MARK: ..., "value": ...}`."""
SECRET_PLACEHOLDER = "[secret]"


def masked(value: Any) -> Any:
    """`value`'s shape with every leaf replaced by the placeholder."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return SECRET_PLACEHOLDER


def _secretsmasked(value: Any) -> Any:
    """`value` with the text of every secret-marked value replaced by the placeholder, its mark and shape kept: the
    plan JSON holds no credential, not even one derived from a placeholder key (imaas/declarations/store_auth.py)."""
    if isinstance(value, dict):
        if SECRET_MARK in value:
            return {**value, "value": masked(value.get("value"))}
        return {key: _secretsmasked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_secretsmasked(item) for item in value]
    return value


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool = False
    retainOnDelete: bool = False  # noqa: N815 - the plan JSON's own key
    dependsOn: list[str] = field(default_factory=list)  # noqa: N815 - the plan JSON's own key


@dataclass(frozen=True)
class Plan:
    project: str
    stack: str
    resources: list[PlannedResource]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            # Shallow on purpose: dataclasses.asdict deep-copies every input, a second copy of the whole plan made
            # only to be serialised at once.
            "resources": [
                {
                    name: _secretsmasked(getattr(resource, name)) if name == "inputs" else getattr(resource, name)
                    for name in _RESOURCE_KEYS
                }
                for resource in self.resources
            ],
        }

    def write(self, path: Path, *, compact: bool = False) -> str:
        """Indented for people, or `compact` on one line (json's C encoder: several times faster) for the fleet; the
        digest of the bytes written (file_digest's, without reading them back)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), separators=(",", ":")) if compact else json.dumps(self.to_json(), indent=1)
        written = (text + "\n").encode("utf-8")
        path.write_bytes(written)
        return _sha256(written)

    @classmethod
    def read(cls, path: Path) -> Plan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _PLAN_FILE.validate_python(data)
        except OSError as err:
            raise UsageError(f"{path}: cannot read: {err.strerror}") from None
        except ValueError as err:
            if isinstance(err, ValidationError):
                first = err.errors(include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                raise UsageError(f"{path}: not a plan JSON file ({where}: {first['msg']})") from None
            raise UsageError(f"{path}: not a plan JSON file ({err})") from None

    def by_urn(self) -> dict[str, PlannedResource]:
        return {resource.urn: resource for resource in self.resources}


_PLAN_FILE = TypeAdapter(Plan)
_RESOURCE_KEYS = [resource_field.name for resource_field in fields(PlannedResource)]


def file_digest(path: Path) -> str:
    """The sha256 of a plan file's bytes, as Plan.write returns it: which plan a record of it (a fleet's guardrail
    findings) was made of."""
    return _sha256(path.read_bytes())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
