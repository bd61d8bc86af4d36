"""The JSON Schema an editor checks tenant files with and the command line agree on every rule of one file.

Each rule's passing and failing examples are written as a tenant file and go through both: check-jsonschema, which
reads the file as editors do (YAML 1.2) and loads the shipped schema as JSON Schema specifies, checking every pattern
as an ECMA-262 regular expression in unicode mode and matching with that engine (`regress`), and the command line's
own reading of the file (`read_tenant_bytes`). Both must give the expected verdict, on the accepted and on the
refused examples, so that neither an editor's squiggle nor its silence misleads a tenant author. Python's `re` is no
judge here: it accepts patterns that unicode mode refuses (`\\"`) and matches `\\s`, `.` and `$` otherwise.

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
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import regress
from check_jsonschema.formats import FormatOptions, make_format_checker
from check_jsonschema.parsers import ParserSet
from check_jsonschema.regex_variants import RegexImplementation, RegexVariantName
from check_jsonschema.schema_loader import SchemaLoader
from helpers import PROJECT_DIR

from imaas.docs.tenant_reference import SCHEMA
from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import read_tenant_bytes
from imaas.model.names import COST_CENTER_PATTERN, EMAIL_PATTERN, GITHUB_LOGIN_PATTERN, PATTERN_RULES
from imaas.model.quantity import QUANTITY_RULE
from imaas.model.schema import one_of

Document = dict[str, Any]
# The strict judge, as its command line builds it: the shipped schema checked against the 2020-12 metaschema with
# ECMA-262 unicode-mode `regex` formats, and `pattern` matched by that engine.
REGEX = RegexImplementation(RegexVariantName.default)
SCHEMA_FILE = SCHEMA.path
VALIDATOR = SchemaLoader(str(SCHEMA_FILE)).get_validator(
    SCHEMA_FILE, {}, FormatOptions(regex_impl=REGEX), REGEX, fill_defaults=False
)
# check-jsonschema's own reading of YAML files (ruamel.yaml, YAML 1.2), as its command line reads them.
READ_AS_CHECK_JSONSCHEMA = ParserSet().get(Path("tenant.yaml"), "yaml")
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
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
    ("cost center underscore inside", at("metadata.costCenter", "CC_10.42"), True),
    ("cost center a number", at("metadata.costCenter", 1042), False),
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
    # where ECMA-262's classes differ from pydantic's (Unicode's): `\\s` holds U+FEFF but not U+0085, `.` stops at
    # U+2028 and carriage returns
    ("group with a byte order mark", at("spec.access.developers", ["\ufeffpayments-devs"]), False),
    ("group ending in a byte order mark", at("spec.access.developers", ["payments-devs\ufeff"]), False),
    ("group with a next line", at("spec.access.developers", ["payments-devs\x85"]), False),
    ("group ending in a no-break space", at("spec.access.developers", ["payments-devs\xa0"]), False),
    ("group with a carriage return", at("spec.access.developers", ["payments\rdevs"]), False),
    ("group with a line separator", at("spec.access.developers", ["payments\u2028devs"]), False),
    ("group with an emoji", at("spec.access.developers", ["payments-\U0001f4b3"]), True),
    ("contact with a byte order mark", at("metadata.contact", "payments\ufeff@example.com"), False),
    ("contact with a no-break space", at("metadata.contact", "payments\xa0@example.com"), False),
    ("display name with an emoji", at("metadata.displayName", "Payments \U0001f4b3"), True),
    ("description with a byte order mark", at("spec.services.0.description", "Syncs\ufefforders"), False),
    ("group system: upper case", at("spec.access.viewers", ["System:masters"]), True),
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
    ("memory zero point one", at("spec.quota.memory", "0.5Gi"), True),
    ("memory a leading zero", at("spec.quota.memory", "08Gi"), True),
    ("cpu zero as a decimal number", at("spec.quota.cpu", 0.0), False),
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


def tenant_file(document: Document) -> bytes:
    """The document as a tenant file: JSON, which is YAML 1.2, with every character beyond ASCII escaped YAML's way
    (`\\U0001f4b3` for one outside the BMP, where JSON's surrogate pairs would be read as two lone halves)."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return "".join(char if char.isascii() else f"\\U{ord(char):08x}" for char in text).encode()


def cli_accepts(raw: bytes, document: Document) -> bool:
    name = document["metadata"].get("name")
    # The file is named after the tenant: that rule (the schema cannot see file names) is not the one under test.
    file = f"{name if isinstance(name, str) else 'payments'}.yaml"
    try:
        read_tenant_bytes(raw, file)
    except InputError:
        return False
    return True


def schema_errors(raw: bytes) -> list[jsonschema.ValidationError]:
    return list(VALIDATOR.iter_errors(READ_AS_CHECK_JSONSCHEMA(io.BytesIO(raw))))


@pytest.mark.fast
@pytest.mark.parametrize(("edit", "valid"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_schema_and_command_line_agree(edit: Callable[[Document], None], valid: bool) -> None:
    document = copy.deepcopy(BASE)
    edit(document)
    raw = tenant_file(document)

    errors = [error.message for error in schema_errors(raw)]

    assert (not errors, cli_accepts(raw, document)) == (valid, valid), errors


def patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [pattern for value in node.values() for pattern in patterns(value)]
    if isinstance(node, list):
        return [pattern for value in node for pattern in patterns(value)]
    return []


@pytest.mark.fast
def test_every_pattern_of_the_shipped_schema_is_an_ecma_262_unicode_mode_regex() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The metaschema with check-jsonschema's `regex` format (what its loading of the schema above checks too) ...
    metaschema = jsonschema.validators.validator_for(schema)
    checker = make_format_checker(FormatOptions(regex_impl=REGEX))
    assert [
        error.message for error in metaschema(metaschema.META_SCHEMA, format_checker=checker).iter_errors(schema)
    ] == []
    # ... and each pattern compiled by the engine itself, in unicode mode, so that no format check can be skipped.
    found = patterns(schema)
    assert len(found) > 10
    for pattern in found:
        regress.Regex(pattern, flags="u")


@pytest.mark.slow
def test_check_jsonschema_command_line_validates_the_fixture_tenants_as_validate_does(tmp_path: Path) -> None:
    fixtures = PROJECT_DIR / "tests" / "fixtures" / "tenants"
    refused = tmp_path / "refused"
    refused.mkdir()
    document = copy.deepcopy(BASE)
    document["spec"]["access"] = {"developers": ['payments"devs']}
    (refused / "payments.yaml").write_bytes(tenant_file(document))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)

    schema = str(SCHEMA_FILE)
    accepted = run(str(CHECK_JSONSCHEMA), "--schemafile", schema, *map(str, sorted(fixtures.glob("*.yaml"))))
    assert (accepted.returncode, accepted.stdout.strip()) == (0, "ok -- validation done"), accepted.stderr
    assert run(sys.executable, "-m", "imaas", "validate", "--tenants", str(fixtures)).returncode == 0

    refusing = run(str(CHECK_JSONSCHEMA), "--schemafile", schema, str(refused / "payments.yaml"))
    assert refusing.returncode == 1, refusing.stdout + refusing.stderr
    assert "payments.yaml::$.spec.access.developers[0]" in refusing.stdout
    assert run(sys.executable, "-m", "imaas", "validate", "--tenants", str(refused)).returncode == 1


# --- the editor's words ---------------------------------------------------------------------------------------------


def sentences(errors: list[jsonschema.ValidationError]) -> set[str]:
    """What an editor (the YAML language server) shows for these errors where the schema gives its own words."""
    found = set()
    for error in errors:
        if error.validator == "pattern" and "patternErrorMessage" in error.schema:
            found.add(error.schema["patternErrorMessage"])
        elif error.validator in ("enum", "type") and "errorMessage" in error.schema:
            found.add(error.schema["errorMessage"])
        found |= sentences(list(error.context or []))
    return found


def cli_problems(raw: bytes) -> list[str]:
    try:
        read_tenant_bytes(raw, "payments.yaml")
    except InputError as err:
        return [problem.message for problem in err.problems]
    return []


@pytest.mark.parametrize(
    ("edit", "sentence"),
    [
        (at("metadata.costCenter", "-CC"), PATTERN_RULES[COST_CENTER_PATTERN]),
        (at("metadata.contact", "payments-team"), PATTERN_RULES[EMAIL_PATTERN]),
        (at("spec.team.maintainers", ["-alice"]), PATTERN_RULES[GITHUB_LOGIN_PATTERN]),
        (at("spec.access.developers", ["payments,devs"]), "may not hold commas or quotes, which Argo CD's policy"),
        (at("spec.access.viewers", ["system:masters"]), "may not be a Kubernetes system group (system:...)"),
        (at("metadata.displayName", "Pay\u202ements"), "may not hold control characters, line breaks or bidi"),
        (at("spec.quota.cpu", "4 cores"), QUANTITY_RULE),
        (at("spec.size", "huge"), f"must be one of {one_of(['small', 'medium', 'large'])}"),
        (at("spec.services.0.visibility", "public"), "must be one of 'private' or 'internal'"),
    ],
    ids=[
        "cost center",
        "contact",
        "maintainer",
        "group comma",
        "system group",
        "bidi",
        "quantity",
        "size",
        "visibility",
    ],
)
@pytest.mark.fast
def test_an_editor_shows_the_sentence_validate_prints(edit: Callable[[Document], None], sentence: str) -> None:
    document = copy.deepcopy(BASE)
    edit(document)
    raw = tenant_file(document)

    shown = sentences(schema_errors(raw))
    printed = cli_problems(raw)

    assert [text for text in shown if text.startswith(sentence)], shown
    assert len(printed) == 1 and printed[0].startswith(sentence), printed
    # The editor's sentence is the rule validate states, before validate's own "got ..." and hints.
    assert any(printed[0].startswith(text) for text in shown), (shown, printed)


@pytest.mark.fast
def test_every_pattern_and_choice_of_the_schema_has_a_sentence() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())

    def missing(node: Any, path: str) -> list[str]:
        if isinstance(node, list):
            return [found for index, value in enumerate(node) for found in missing(value, f"{path}/{index}")]
        if not isinstance(node, dict):
            return []
        found = []
        if "pattern" in node and not str(node.get("patternErrorMessage", "")).startswith(("must ", "may not ")):
            found.append(f"{path}: pattern {node['pattern']}")
        if "enum" in node and not str(node.get("errorMessage", "")).startswith("must be one of "):
            found.append(f"{path}: enum {node['enum']}")
        return found + [
            item for key, value in node.items() if key != "enum" for item in missing(value, f"{path}/{key}")
        ]

    assert missing(schema, "#") == []
    assert QUANTITY_RULE in SCHEMA_FILE.read_text()


HEADER = "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payments\n  contact: p@example.com\n"
# Files whose YAML 1.2 reading is the point: the editor's reading (check-jsonschema's) and validate's must agree.
YAML_CASES = [
    ("service named on", "spec:\n  team: {maintainers: [alice]}\n  services: [{name: on}, {name: yes}]\n", True),
    ("cost center 0755", "  costCenter: 0755\nspec:\n  team: {maintainers: [alice]}\n", False),
    ("cost center quoted", "  costCenter: '0755'\nspec:\n  team: {maintainers: [alice]}\n", True),
    ("maintainer 1e3", "spec:\n  team: {maintainers: [1e3]}\n", False),
    ("size a date", "spec:\n  team: {maintainers: [alice]}\n  size: 2024-01-31\n", False),
    ("lifecycle yes", "spec:\n  team: {maintainers: [alice]}\n  lifecycle: yes\n", False),
    (
        "merge key",
        "spec:\n  team: {maintainers: [alice]}\n  services:\n    - &s {name: order-sync, size: medium}\n"
        "    - <<: *s\n      name: order-audit\n",
        True,
    ),
    ("colon in a flow value", "spec:\n  team: {maintainers: [alice]}\n  access: {viewers: [oidc:auditors]}\n", True),
]


@pytest.mark.fast
@pytest.mark.parametrize(("text", "valid"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_schema_and_command_line_agree_on_yaml_1_2_readings(text: str, valid: bool) -> None:
    raw = (HEADER + text).encode()

    errors = [error.message for error in schema_errors(raw)]

    assert (not errors, not cli_problems(raw)) == (valid, valid), (errors, cli_problems(raw))
