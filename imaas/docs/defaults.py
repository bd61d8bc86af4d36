"""The defaults docs quote, as tables they show instead of copies: a service's replica bounds per environment."""

from __future__ import annotations

from imaas.docs.sections import PROJECT_DIR, section
from imaas.model.tenant import DEFAULT_REPLICAS


def replica_defaults() -> list[str]:
    header = ["| environment | min replicas | max replicas |", "| --- | --- | --- |"]
    return [*header, *(f"| {env} | {bounds.min} | {bounds.max} |" for env, bounds in DEFAULT_REPLICAS.items())]


REPLICAS = section(PROJECT_DIR / "docs" / "tenants.md", "replica-defaults", "imaas/model/tenant.py", replica_defaults)
