"""A valid starter tenant file, for `imaas new`."""

from __future__ import annotations

from imaas.tenant_files import read_tenant_bytes

TEMPLATE = """\
# yaml-language-server: $schema=../schema/tenant.schema.json
apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: {name}
  contact: {contact}
spec:
  team:
    maintainers: [{maintainers}]
  # access:
  #   developers: [{name}-developers]
  #   viewers: [{name}-viewers]
  environments: [dev, test, prod]
  size: small
  services:
    - name: {service}
"""


def starter_text(name: str, contact: str, maintainers: list[str], service: str) -> str:
    """The starter file; raises InputError when the arguments would not make a valid tenant."""
    text = TEMPLATE.format(name=name, contact=contact, maintainers=", ".join(maintainers), service=service)
    read_tenant_bytes(text.encode(), f"{name}.yaml")
    return text
