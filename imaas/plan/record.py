"""The plan JSON of DESIGN section 5, in memory and on disk."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imaas.errors import UsageError

RESOURCE_KEYS = ("urn", "type", "name", "parent", "custom", "inputs", "protect", "retainOnDelete", "dependsOn")


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
            "resources": [asdict(resource) for resource in self.resources],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Plan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            resources = [PlannedResource(**{key: item[key] for key in RESOURCE_KEYS}) for item in data["resources"]]
            return cls(data["project"], data["stack"], resources)
        except OSError as err:
            raise UsageError(f"{path}: cannot read: {err.strerror}") from None
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"{path}: not a plan JSON file ({type(err).__name__}: {err})") from None

    def by_urn(self) -> dict[str, PlannedResource]:
        return {resource.urn: resource for resource in self.resources}
