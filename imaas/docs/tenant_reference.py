"""The tenant file reference in docs/tenants.md, and the JSON Schema beside it (schema/tenant.schema.json)."""

from __future__ import annotations

from imaas.docs.fields import rows, table
from imaas.docs.sections import PROJECT_DIR, Generated, section
from imaas.model.schema import tenant_schema_text
from imaas.model.tenant import Tenant

SCHEMA = Generated(PROJECT_DIR / "schema" / "tenant.schema.json", tenant_schema_text)
REFERENCE = section(
    PROJECT_DIR / "docs" / "tenants.md", "tenant-reference", "imaas/model/tenant.py", lambda: table(rows(Tenant))
)
