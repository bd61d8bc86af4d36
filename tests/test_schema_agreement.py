"""The JSON Schema an editor checks tenant files with and the command line agree on every rule of one file.

Each rule's passing and failing examples go through both: the generated schema with a real Draft 2020-12 validator,
and the command line's own reading of a file (`read_tenant_bytes`). Both must give the expected verdict, so that
neither an editor's squiggle nor its silence misleads a tenant author.

Not here, because a JSON Schema of one document cannot state them (each has its tests in test_tenant_rules.py and
test_yaml_input.py):
- the file name equals `metadata.name`: the schema never sees the file name;
- a login is not both maintainer and member, a service's environments are within its tenant's: relations between
  two values of the document;
- a service is listed once: unique by its name, where `uniqueItems` compares whole entries;
- every rule across files (`imaas.checks.across_files.RULES`: unique and reserved tenant names, which depend on the
  stack's platform namespaces too, derived names, groups of one tenant, `allowFrom` naming existing tenants, quotas
  within a stack's `quotaMax`), against the base revision, and of the stacks' `tenantSelector`s;
- the YAML reading itself (duplicate keys, size, nesting, aliases, tabs, UTF-8): before there is a document to check;
- a quota finer than Kubernetes enforces (cpu `"0.0001"`, memory `"0.5"`): the schema refuses zero, but a number's
  `multipleOf` is inexact in floating point and a pattern per suffix would be unreadable;
- a bare number whose positional text is longer than 32 characters (`cpu: 1.2345678901234567e-20`): the schema
  states the numbers' range, not the length of the text the command line turns them into.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import read_tenant_bytes
from imaas.model.schema import tenant_schema

Document = dict[str, Any]
VALIDATOR = Draft202012Validator(tenant_schema())
BASE: Document = {
    "apiVersion": "imaas.io/v1alpha1",
    "kind": "Tenant",
    "metadata": {"name": "payments", "contact": "payments-team@example.com"},
    "spec": {"team": {"maintainers": ["alice"]}, "services": [{"name": "card-gateway"}]},
}


def at(path: str, value: Any) -> Callable[[Document], None]:
    """An edit that sets the value at a dotted path (`spec.services.0.name`), creating mappings on the way."""
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]

    def edit(document: Document) -> None:
        current: Any = document
        for part in parents:
            current = current[part] if isinstance(part, int) else current.setdefault(part, {})
        current[last] = value

    return edit


def without(path: str) -> Callable[[Document], None]:
    *parents, last = path.split(".")

    def edit(document: Document) -> None:
        current: Any = document
        for part in parents:
            current = current[part]
        del current[last]

    return edit


# (id, edit, valid): what each rule of one file accepts and refuses, both ways.
CASES: list[tuple[str, Callable[[Document], None], bool]] = [
    ("the base document", lambda document: None, True),
    # apiVersion and kind
    ("apiVersion other", at("apiVersion", "imaas.io/v1"), False),
    ("kind other", at("kind", "Tenants"), False),
    # unknown keys, by their file names only
    ("unknown key", at("spec.owner", "bob"), False),
    ("python field name", at("metadata.cost_center", "CC-1"), False),
    ("camelCase key", at("metadata.costCenter", "CC-1042"), True),
    ("missing contact", without("metadata.contact"), False),
    ("missing team", without("spec.team"), False),
    # tenant names
    ("name shortest", at("metadata.name", "ab"), True),
    ("name longest", at("metadata.name", "a" * 20), True),
    ("name single dashes and digits", at("metadata.name", "team-2-b"), True),
    ("name upper case", at("metadata.name", "Logistics"), False),
    ("name starts with a digit", at("metadata.name", "2fa"), False),
    ("name ends with a dash", at("metadata.name", "payments-"), False),
    ("name double dash", at("metadata.name", "pay--ments"), False),
    ("name underscore", at("metadata.name", "pay_ments"), False),
    ("name too short", at("metadata.name", "p"), False),
    ("name too long", at("metadata.name", "a" * 21), False),
    ("name a number", at("metadata.name", 42), False),
    # service names
    ("service name longest", at("spec.services.0.name", "s" * 30), True),
    ("service name too long", at("spec.services.0.name", "s" * 31), False),
    ("service name double dash", at("spec.services.0.name", "order--sync"), False),
    ("service name space", at("spec.services.0.name", "order sync"), False),
    ("service description longest", at("spec.services.0.description", "d" * 350), True),
    ("service description too long", at("spec.services.0.description", "d" * 351), False),
    ("service description in French", at("spec.services.0.description", "Synchronise les commandes – ERP"), True),
    ("service description newline", at("spec.services.0.description", "Syncs orders\ninto the ERP"), False),
    ("service description final newline", at("spec.services.0.description", "Syncs orders\n"), False),
    ("service description tab", at("spec.services.0.description", "Syncs\torders"), False),
    ("service description line separator", at("spec.services.0.description", "Syncs\u2028orders"), False),
    ("services fifty", at("spec.services", [{"name": f"service-{n}"} for n in range(50)]), True),
    ("services fifty-one", at("spec.services", [{"name": f"service-{n}"} for n in range(51)]), False),
    ("service visibility", at("spec.services.0.visibility", "internal"), True),
    ("service visibility other", at("spec.services.0.visibility", "public"), False),
    ("service lifecycle", at("spec.services.0.lifecycle", "retired"), True),
    ("service environments", at("spec.services.0.environments", ["prod"]), True),
    ("service environments empty", at("spec.services.0.environments", []), False),
    ("service environments repeated", at("spec.services.0.environments", ["dev", "dev"]), False),
    ("services not a list", at("spec.services", {"name": "x"}), False),
    # metadata
    ("display name", at("metadata.displayName", "Payments"), True),
    ("display name empty", at("metadata.displayName", ""), False),
    ("display name too long", at("metadata.displayName", "P" * 81), False),
    ("display name null", at("metadata.displayName", None), True),
    ("display name right-to-left override", at("metadata.displayName", "Pay\u202ements"), False),
    ("display name bidi isolate", at("metadata.displayName", "Pay\u2067ments"), False),
    ("display name C1 control", at("metadata.displayName", "Pay\x85ments"), False),
    ("display name accents", at("metadata.displayName", "Paiements Société"), True),
    ("contact right-to-left override", at("metadata.contact", "payments\u202e@example.com"), False),
    ("contact not an address", at("metadata.contact", "payments-team"), False),
    ("contact two ats", at("metadata.contact", "a@b@example.com"), False),
    ("cost center", at("metadata.costCenter", "CC-1042"), True),
    ("cost center leading dash", at("metadata.costCenter", "-CC"), False),
    ("cost center too long", at("metadata.costCenter", "C" * 64), False),
    # team and access
    ("maintainers two", at("spec.team.maintainers", ["alice", "bob-2"]), True),
    ("maintainers empty", at("spec.team.maintainers", []), False),
    ("maintainers null", at("spec.team.maintainers", None), False),
    ("maintainer repeated", at("spec.team.maintainers", ["alice", "alice"]), False),
    ("maintainer with a space", at("spec.team.maintainers", ["Bad Login"]), False),
    ("maintainer leading dash", at("spec.team.maintainers", ["-alice"]), False),
    ("maintainer too long", at("spec.team.maintainers", ["a" * 40]), False),
    ("member repeated", at("spec.team.members", ["bob", "bob"]), False),
    ("developers", at("spec.access.developers", ["payments devs"]), True),
    ("developer group empty", at("spec.access.developers", [""]), False),
    ("developer group padded", at("spec.access.developers", [" devs"]), False),
    ("viewers repeated", at("spec.access.viewers", ["auditors", "auditors"]), False),
    ("developer group system:authenticated", at("spec.access.developers", ["system:authenticated"]), False),
    ("viewer group system:masters", at("spec.access.viewers", ["system:masters"]), False),
    ("viewer group system:serviceaccounts", at("spec.access.viewers", ["system:serviceaccounts"]), False),
    ("group system in its middle", at("spec.access.viewers", ["payments-system:auditors"]), True),
    ("group with a colon", at("spec.access.viewers", ["oidc:payments-auditors"]), True),
    ("group with a comma", at("spec.access.developers", ["payments,devs"]), False),
    ("group with a double quote", at("spec.access.developers", ['payments"devs']), False),
    ("group with a single quote", at("spec.access.developers", ["payments'devs"]), False),
    ("group with a newline", at("spec.access.developers", ["payments\ndevs"]), False),
    ("group with a final newline", at("spec.access.developers", ["payments-devs\n"]), False),
    # lifecycle, environments, size
    ("lifecycle retired", at("spec.lifecycle", "retired"), True),
    ("lifecycle other", at("spec.lifecycle", "gone"), False),
    ("environments subset", at("spec.environments", ["prod", "dev"]), True),
    ("environments empty", at("spec.environments", []), False),
    ("environment unknown", at("spec.environments", ["staging"]), False),
    ("environments repeated", at("spec.environments", ["dev", "test", "dev"]), False),
    ("size", at("spec.size", "large"), True),
    ("size other", at("spec.size", "huge"), False),
    # quotas: a quantity as text, or as the number YAML reads `cpu: 4` as
    ("cpu text", at("spec.quota.cpu", "4"), True),
    ("cpu millicores", at("spec.quota.cpu", "2500m"), True),
    ("cpu whole number", at("spec.quota.cpu", 4), True),
    ("cpu decimal number", at("spec.quota.cpu", 2.5), True),
    ("cpu zero", at("spec.quota.cpu", 0), False),
    ("cpu zero text", at("spec.quota.cpu", "0"), False),
    ("cpu zero millicores", at("spec.quota.cpu", "0m"), False),
    ("cpu one millicore", at("spec.quota.cpu", "1m"), True),
    ("memory zero with a suffix", at("spec.quota.memory", "00.00Gi"), False),
    ("storage zero number", at("spec.quota.storage", 0.0), False),
    ("cpu a million", at("spec.quota.cpu", 1_000_000), True),
    ("cpu smallest number", at("spec.quota.cpu", 0.001), True),
    ("cpu negative", at("spec.quota.cpu", -1), False),
    ("cpu too large a number", at("spec.quota.cpu", 10**19), False),
    ("cpu true", at("spec.quota.cpu", True), False),
    ("cpu cores", at("spec.quota.cpu", "4 cores"), False),
    ("cpu negative text", at("spec.quota.cpu", "-1"), False),
    ("memory", at("spec.quota.memory", "8Gi"), True),
    ("memory in bytes", at("spec.quota.memory", 8_589_934_592), True),
    ("memory GB", at("spec.quota.memory", "8GB"), False),
    ("memory exponent", at("spec.quota.memory", "1e3Mi"), False),
    ("memory too long", at("spec.quota.memory", "1" * 33), False),
    ("storage", at("spec.quota.storage", "20Gi"), True),
    ("storage with a space", at("spec.quota.storage", "20 Gi"), False),
    ("pods", at("spec.quota.pods", 40), True),
    ("pods most", at("spec.quota.pods", 10_000), True),
    ("pods zero", at("spec.quota.pods", 0), False),
    ("pods too many", at("spec.quota.pods", 10_001), False),
    ("pods text", at("spec.quota.pods", "40"), False),
    ("pods true", at("spec.quota.pods", True), False),
    ("pods fraction", at("spec.quota.pods", 40.5), False),
    ("quota unknown key", at("spec.quota.gpus", 1), False),
    ("quota null", at("spec.quota", None), True),
    # network
    ("allowFrom", at("spec.network.allowFrom", ["orders", "hr"]), True),
    ("allowFrom not a name", at("spec.network.allowFrom", ["Orders"]), False),
    ("allowFrom double dash", at("spec.network.allowFrom", ["a--b"]), False),
    ("allowFrom repeated", at("spec.network.allowFrom", ["orders", "orders"]), False),
]


def cli_accepts(document: Document) -> bool:
    name = document["metadata"].get("name")
    # The file is named after the tenant: that rule (the schema cannot see file names) is not the one under test.
    file = f"{name if isinstance(name, str) else 'payments'}.yaml"
    try:
        read_tenant_bytes(yaml.safe_dump(document, sort_keys=False).encode(), file)
    except InputError:
        return False
    return True


@pytest.mark.parametrize(("edit", "valid"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_schema_and_command_line_agree(edit: Callable[[Document], None], valid: bool) -> None:
    document = copy.deepcopy(BASE)
    edit(document)

    schema_errors = [error.message for error in VALIDATOR.iter_errors(document)]

    assert (not schema_errors, cli_accepts(document)) == (valid, valid), schema_errors


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(tenant_schema())
