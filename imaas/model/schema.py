"""The tenant JSON Schema, generated from the models, for editors and for other tools."""

from __future__ import annotations

import json
from typing import Any

from imaas.model.tenant import API_VERSION, Tenant

SCHEMA_ID = "https://imaas.io/schemas/tenant-v1alpha1.json"


def tenant_schema() -> dict[str, Any]:
    schema = Tenant.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = f"IMaaS Tenant ({API_VERSION})"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def tenant_schema_text() -> str:
    return json.dumps(tenant_schema(), indent=2) + "\n"
