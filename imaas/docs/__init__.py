"""Documentation generated from the code, so that each fact has one source: the tenant file reference and its JSON
Schema, the stack settings reference, the rules and guardrails, the observability fence, the ingress annotations
tenants may set and the defaults docs quote. `make docs` (`python -m imaas.docs`) writes them all;
tests/test_generated_docs.py fails when one is stale."""

from __future__ import annotations

from imaas.docs.defaults import REPLICAS
from imaas.docs.fence_table import FENCE
from imaas.docs.ingress_annotations import INGRESS_ANNOTATIONS
from imaas.docs.rules import RULES_FILE
from imaas.docs.sections import Generated
from imaas.docs.settings_reference import SETTINGS
from imaas.docs.tenant_reference import REFERENCE, SCHEMA

OUTPUTS: tuple[Generated, ...] = (SCHEMA, REFERENCE, REPLICAS, SETTINGS, RULES_FILE, FENCE, INGRESS_ANNOTATIONS)
