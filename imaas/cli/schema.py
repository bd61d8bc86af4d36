"""`imaas schema`: the tenant file's JSON Schema, for editors and other tools."""

from __future__ import annotations

import sys

from imaas.cli.app import app


@app.command()
def schema() -> None:
    """Print the tenant file's JSON Schema."""
    from imaas.model.schema import tenant_schema_text

    sys.stdout.write(tenant_schema_text())
