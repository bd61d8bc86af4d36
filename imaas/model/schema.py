"""The tenant JSON Schema, generated from the models, for editors and for other tools.

Editors (the YAML language server) show the schema's own sentences where it gives them: `patternErrorMessage` for a
pattern, `errorMessage` for a value of a list of choices, `markdownDescription` on hover. They are the words
`imaas validate` prints, from the same source, so that an editor and the command line say the same. Validators
ignore the keywords they do not know, as JSON Schema allows.
"""

from __future__ import annotations

import json
from typing import Any

from imaas.model.names import PATTERN_RULES
from imaas.model.tenant import API_VERSION, Tenant

SCHEMA_ID = "https://imaas.io/schemas/tenant-v1alpha1.json"


def one_of(choices: list[Any]) -> str:
    """`'small', 'medium' or 'large'`: a list of choices as pydantic's messages (and so `validate`'s) spell it."""
    shown = [repr(choice) for choice in choices]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _with_sentences(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _with_sentences(item)
        return
    if not isinstance(node, dict):
        return
    pattern = node.get("pattern")
    if isinstance(pattern, str) and "patternErrorMessage" not in node and pattern in PATTERN_RULES:
        node["patternErrorMessage"] = PATTERN_RULES[pattern]
    if isinstance(node.get("enum"), list):
        node["errorMessage"] = f"must be one of {one_of(node['enum'])}"
    description = node.get("description")
    if isinstance(description, str) and "`" in description:
        node["markdownDescription"] = description
    for key, value in list(node.items()):
        if key not in ("enum", "const", "default", "examples"):
            _with_sentences(value)


def tenant_schema() -> dict[str, Any]:
    schema = Tenant.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = f"IMaaS Tenant ({API_VERSION})"
    _with_sentences(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def tenant_schema_text() -> str:
    return json.dumps(tenant_schema(), indent=2) + "\n"
