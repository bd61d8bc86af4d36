"""A valid starter tenant file, for `imaas new`."""

from __future__ import annotations

import yaml

from imaas.checks.across_files import cross_file_problems
from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import TenantFile, read_tenant_bytes
from imaas.model.tenant import API_VERSION

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/tenant.schema.json\n"
ACCESS_HINT = """\
# Identity-provider groups bound in Kubernetes (developers edit in dev and test, view in prod):
#   access:
#     developers: [{name}-developers]
#     viewers: [{name}-viewers]
"""


def starter_text(name: str, contact: str, maintainers: list[str], service: str, existing: list[TenantFile]) -> str:
    """The starter file; raises InputError when the arguments would not make a valid tenant beside `existing`."""
    document = {
        "apiVersion": API_VERSION,
        "kind": "Tenant",
        "metadata": {"name": name, "contact": contact},
        "spec": {
            "team": {"maintainers": maintainers},
            "environments": ["dev", "test", "prod"],
            "size": "small",
            "services": [{"name": service}],
        },
    }
    # Dumped, not formatted into a template, so that no argument can add or cut a key.
    text = SCHEMA_LINE + yaml.safe_dump(document, sort_keys=False) + ACCESS_HINT.format(name=name)
    starter = read_tenant_bytes(text.encode(), f"{name}.yaml")
    problems = [p for p in cross_file_problems([*existing, starter], None) if p.file == starter.file]
    if problems:
        raise InputError(problems)
    return text
