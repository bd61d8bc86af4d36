"""Hostile and broken tenant files: each gives an InputError with one short line per problem, quickly.

Tenant files come from anyone who can open a pull request and are read by CI, so reading them must never
crash, hang or flood the log, and every problem must name the file, line and column (DESIGN section 5).
"""

from __future__ import annotations

import codecs
import io
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import PROJECT_DIR, TIMEOUT_SCALE, WAIT_SECONDS, tenant_text, write_tenant

from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import read_tenant_file
from imaas.inputs.yaml_source import MAX_DEPTH, MAX_FILE_BYTES, parse_yaml

FILE = "tenants/payments.yaml"
VALID = tenant_text("payments")
TAG_REFUSED = "is not allowed; a tenant file holds text, numbers, true/false, lists and mappings"


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read_problems(raw: bytes) -> list[str]:
    """Write `raw` as tenants/payments.yaml, read it, and return the problem lines; fail on anything but InputError."""
    path = Path(FILE)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(raw)
    # CPU time, not wall time: what a hostile file costs the reader, whatever else the machine is doing.
    started = time.process_time()
    with pytest.raises(InputError) as raised:
        read_tenant_file(path)
    spent = time.process_time() - started
    assert spent < TIMEOUT_SCALE, f"reading took {spent:.2f} s of CPU"
    found = [str(problem) for problem in raised.value.problems]
    assert str(raised.value) == "\n".join(found)
    return found


def assert_clean(found: list[str]) -> None:
    """One short line per problem, starting with `file:line:column: `."""
    assert found
    for line in found:
        assert "\n" not in line and "\r" not in line, line
        assert len(line) < 300, line[:300]
        assert re.match(rf"{re.escape(FILE)}:[1-9][0-9]*:[1-9][0-9]*: \S", line), line


BILLION_LAUGHS = (
    'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]\n" for n in range(1, 10))
    + "apiVersion: *lol9\n"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"apiVersion: imaas.io/v1alpha1\nkind: [Tenant\n",
            "3:1: invalid YAML: while parsing a flow sequence did not find expected ',' or ']'",
            id="unclosed-flow-sequence",
        ),
        pytest.param(
            b"metadata:\n  name: payments\n contact: p@example.com\n",
            "3:2: invalid YAML: while parsing a block mapping did not find expected key",
            id="bad-indentation",
        ),
        pytest.param(
            (VALID + "\tsize: small\n").encode(),
            "9:1: invalid YAML: while scanning for the next token found character that cannot start any token;"
            " indent with spaces, not tabs",
            id="tab",
        ),
        pytest.param(
            (VALID + "  services:\n    - name: ab\n  \t- name: cd\n").encode(),
            "11:3: invalid YAML: while scanning a plain scalar found a tab character that violates indentation;"
            " indent with spaces, not tabs",
            id="tab-after-spaces",
        ),
        pytest.param(
            (VALID + "---\n" + VALID).encode(),
            "9:1: invalid YAML: expected a single document in the stream but found another document",
            id="two-documents",
        ),
        pytest.param(b"", "1:1: file is empty", id="empty"),
        pytest.param(b"\n   \n\n", "1:1: file is empty", id="blank"),
        pytest.param(b"# a tenant file\n# to be written\n", "1:1: file holds no YAML document", id="only-comments"),
        pytest.param(
            b"- apiVersion: imaas.io/v1alpha1\n- kind: Tenant\n",
            "1:1: expected a mapping at the top of the file, found a list",
            id="list-at-top",
        ),
        pytest.param(b"payments\n", "1:1: expected a mapping at the top of the file, found 'payments'", id="scalar"),
        pytest.param(
            VALID.replace("kind: Tenant\n", "kind: Tenant\nkind: Tenant\n").encode(),
            "3:1: duplicate key 'kind' (first at line 2)",
            id="duplicate-top-key",
        ),
        pytest.param(
            (VALID + "  size: small\n  size: large\n").encode(),
            "10:3: duplicate key 'size' (first at line 9)",
            id="duplicate-nested-key",
        ),
        pytest.param(
            VALID.replace("  contact:", "  displayName: Caf\xe9\n  contact:").encode("latin-1"),
            "5:19: not UTF-8 text (byte 0xe9)",
            id="latin-1",
        ),
        pytest.param(VALID.encode("utf-16"), "1:1: not UTF-8 text (byte 0xff)", id="utf-16"),
        pytest.param(
            b"apiVersion: &loop [*loop]\n",
            "1:13: invalid YAML: an alias refers to a value that contains it",
            id="recursive-alias",
        ),
        pytest.param(
            BILLION_LAUGHS.encode(),
            "1:1: document expands to more than 20000 values (aliases repeated too often)",
            id="billion-laughs",
        ),
        pytest.param(
            b"apiVersion: imaas.io/v1alpha1\nkind: !!python/name:os.system\n",
            f"2:7: invalid YAML: tag !!python/name:os.system {TAG_REFUSED}",
            id="python-tag",
        ),
        pytest.param(b"? [a, b]\n: c\n", "1:3: mapping keys must be plain values", id="sequence-as-key"),
    ],
)
@pytest.mark.fast
def test_unreadable_yaml(raw: bytes, expected: str) -> None:
    found = read_problems(raw)

    assert found == [f"{FILE}:{expected}"]
    assert_clean(found)


@pytest.mark.parametrize(
    "raw",
    [b"[" * 5000, b"{a: " * 5000, b"- " * 5000 + b"x\n", b"apiVersion: " + b"[" * 5000 + b"]" * 5000 + b"\n"],
    ids=["flow-sequence", "flow-mapping", "block-sequence", "closed-flow-sequence"],
)
@pytest.mark.fast
def test_deep_nesting(raw: bytes) -> None:
    found = read_problems(raw)

    # Today "1:1: invalid YAML: nested too deeply", once Python runs out of stack; a parser that stops at a fixed
    # depth may name the column where it stopped.
    assert len(found) == 1
    assert found[0].startswith(f"{FILE}:1:")
    assert "invalid YAML: nested" in found[0]
    assert_clean(found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            VALID + "  environments: dev\n", ["9:17: spec.environments: must be a list, got 'dev'"], id="text-for-list"
        ),
        pytest.param(
            VALID.replace("[alice]", "alice"),
            ["8:18: spec.team.maintainers: must be a list, got 'alice'"],
            id="maintainers-text",
        ),
        pytest.param(
            VALID.replace("  name: payments\n  contact: payments-team@example.com\n", "  - payments\n"),
            ["4:3: metadata: must be a mapping, got a list"],
            id="list-for-mapping",
        ),
        pytest.param(
            VALID.replace("  team:\n    maintainers: [alice]\n", "  team: [alice]\n"),
            ["7:9: spec.team: must be a mapping, got a list"],
            id="team-list",
        ),
        pytest.param(
            VALID + "  quota:\n    pods: forty\n",
            ["10:11: spec.quota.pods: must be a whole number, got 'forty'"],
            id="pods-forty",
        ),
        pytest.param(
            VALID + "  services: [order-sync]\n",
            ["9:14: spec.services[0]: must be a mapping, got 'order-sync'"],
            id="service-as-text",
        ),
        pytest.param(
            VALID + "  size: 2024-01-31\n",
            ["9:9: spec.size: must be one of 'small', 'medium' or 'large', got '2024-01-31'"],
            id="date-is-text",
        ),
        pytest.param(
            VALID.replace("name: payments", "name: [payments]") + "  quota:\n    cpu: {amount: 4}\n",
            [
                "4:9: metadata.name: must be text, got a list",
                "10:10: spec.quota.cpu: must be text, got a mapping",
            ],
            id="several",
        ),
    ],
)
@pytest.mark.fast
def test_values_of_the_wrong_type(text: str, expected: list[str]) -> None:
    found = read_problems(text.encode())

    assert found == [f"{FILE}:{line}" for line in expected]
    assert_clean(found)


@pytest.mark.fast
def test_tags_on_collections_are_refused_at_their_line() -> None:
    raw = VALID.replace("kind: Tenant", "kind: !!python/object/apply:os.system [echo owned]").encode()

    # As an editor does ("unresolved tag"): nothing is constructed, and the line says why.
    assert read_problems(raw) == [f"{FILE}:2:7: invalid YAML: tag !!python/object/apply:os.system {TAG_REFUSED}"]


@pytest.mark.fast
def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    raw = VALID.encode() + b"#" * (MAX_FILE_BYTES + 1 - len(VALID)) + b"\n"

    found = read_problems(raw)

    # The whole file is the problem, so the line names the file only.
    assert found == [f"{FILE}: file is {MAX_FILE_BYTES + 2} bytes, more than the {MAX_FILE_BYTES} allowed"]


@pytest.mark.fast
def test_a_file_at_the_size_limit_is_read() -> None:
    raw = VALID.encode() + b"#" * (MAX_FILE_BYTES - 1 - len(VALID)) + b"\n"
    path = write_tenant(Path("tenants"), "payments", text=raw.decode())
    assert path.stat().st_size == MAX_FILE_BYTES

    assert read_tenant_file(path).tenant.name == "payments"


@pytest.mark.fast
def test_a_byte_order_mark_is_accepted() -> None:
    path = Path(FILE)
    path.parent.mkdir()
    path.write_bytes(codecs.BOM_UTF8 + VALID.encode())

    assert read_tenant_file(path).tenant.name == "payments"


# Each of these currently escapes as another exception, or gives a wrong or unreadable line; see the reasons.
@pytest.mark.parametrize(
    ("raw", "place"),
    [
        pytest.param(
            VALID.replace("kind: Tenant", "kind: Ten\0ant").encode(),
            "2:10",
            id="nul-byte",
        ),
        pytest.param(
            VALID.replace("kind: Tenant", "kind: Ten\x07ant").encode(),
            "2:10",
            id="control-character",
        ),
        pytest.param(
            (VALID + "  size: 2024-02-30\n").encode(),
            "9:9",
            id="impossible-date",
        ),
        pytest.param(
            (VALID + "  quota:\n    pods: " + "9" * 5000 + "\n").encode(),
            "10:11",
            id="huge-integer",
        ),
        pytest.param(
            (VALID + "  size: !!int small\n").encode(),
            "9:9",
            id="int-tag",
        ),
        pytest.param(
            (VALID + "  size: !!float small\n").encode(),
            "9:9",
            id="float-tag",
        ),
        pytest.param(
            (VALID + "  size: !!bool maybe\n").encode(),
            "9:9",
            id="bool-tag",
        ),
        pytest.param(
            (VALID + "  size: !!timestamp soon\n").encode(),
            "9:9",
            id="timestamp-tag",
        ),
        pytest.param(
            (VALID + '  "foo\\nbar": 1\n').encode(),
            "9:3",
            id="key-with-line-break",
        ),
        pytest.param(
            VALID.replace("kind: Tenant", "kind: " + "T" * 5000).encode(),
            "2:7",
            id="long-value",
        ),
        pytest.param(
            (VALID + "  " + "k" * 1000 + ": 1\n").encode(),
            "9:3",
            id="long-key",
        ),
        pytest.param(
            codecs.BOM_UTF8 + b"apiVersion: imaas.io/v1alpha1\n\xffkind: Tenant\n",
            "2:1",
            id="bad-byte-after-bom",
        ),
        pytest.param(
            VALID.replace("  contact:", "  displayName: Caf\xc3\xa9 \xff\n  contact:").encode("latin-1"),
            "5:21",
            id="bad-byte-after-multibyte",
        ),
    ],
)
@pytest.mark.fast
def test_hostile_input_gives_one_clean_line_at_its_place(raw: bytes, place: str) -> None:
    found = read_problems(raw)

    assert_clean(found)
    assert found[0].startswith(f"{FILE}:{place}: "), found


# --- through the command line ------------------------------------------------------------------------------------


def run_validate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "PY_COLORS")}
    environment.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "imaas", "validate", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env=environment,
        timeout=WAIT_SECONDS,
        check=False,
    )


def good_tenants(directory: Path) -> Path:
    write_tenant(directory, "orders", "services:\n  - name: order-sync\n")
    write_tenant(directory, "payments", "network:\n  allowFrom: [orders]\n")
    return directory


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


BROKEN_MESSAGE = "invalid YAML: while parsing a flow sequence did not find expected ',' or ']'"


@pytest.mark.slow
def test_cli_reports_a_broken_file_among_good_ones(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: [Tenant\n")

    result = run_validate("--tenants", str(tenants))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{tenants}/broken.yaml:3:1: {BROKEN_MESSAGE}"]
    assert "1 problem in 1 file" in result.stderr
    assert_no_traceback(result)


@pytest.mark.slow
def test_cli_github_format_annotates_each_problem(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: [Tenant\n")
    write_tenant(tenants, "hr", "network:\n  allowFrom: [ghost]\n")

    result = run_validate("--tenants", str(tenants), "--format", "github")

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"::error file={tenants}/broken.yaml,line=3,col=1::{BROKEN_MESSAGE}",
        f"::error file={tenants}/hr.yaml,line=10,col=17,title=spec.network.allowFrom[0]::"
        "spec.network.allowFrom[0]: must name an existing tenant: there is no tenant named 'ghost'",
    ]
    assert "2 problems in 2 files" in result.stderr
    assert_no_traceback(result)


@pytest.mark.slow
def test_cli_valid_folder_exits_0(tmp_path: Path) -> None:
    result = run_validate("--tenants", str(good_tenants(tmp_path / "tenants")))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "2 tenant files valid" in result.stderr


@pytest.mark.slow
def test_cli_checks_the_stack_limits_when_a_stack_is_given(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    write_tenant(tenants, "big", 'quota:\n  cpu: "100"\n')

    assert run_validate("--tenants", str(tenants)).returncode == 0
    dev = run_validate("--tenants", str(tenants), "--stack", "dev")
    assert dev.returncode == 1
    assert dev.stdout.splitlines() == [
        f"{tenants}/big.yaml:10:10: spec.quota.cpu: 100 is above this stack's quotaMax of 64"
    ]


@pytest.mark.slow
def test_cli_unknown_stack_is_a_usage_error(tmp_path: Path) -> None:
    result = run_validate("--tenants", str(good_tenants(tmp_path)), "--stack", "nosuchstack")

    assert result.returncode == 2
    assert "Pulumi.nosuchstack.yaml: no settings for stack 'nosuchstack'" in result.stderr
    assert_no_traceback(result)


@pytest.mark.slow
def test_cli_base_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")

    result = run_validate("--tenants", str(tenants), "--base", "HEAD", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})

    assert result.returncode == 2
    assert "not a git repository" in result.stderr
    assert_no_traceback(result)


@pytest.mark.slow
def test_cli_file_with_a_nul_byte_gives_a_problem_not_a_traceback(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_bytes(b"apiVersion: imaas.io/v1alpha1\nkind: Ten\0ant\n")

    result = run_validate("--tenants", str(tenants))

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{tenants}/broken.yaml:2:10: ")


@pytest.mark.slow
def test_a_tenant_file_that_is_a_link_is_refused_without_reading_its_target(tmp_path: Path) -> None:
    # A pull request can bring a link to anything the runner can read; its target must never reach an error line.
    secret = tmp_path / "outside" / "environ.yaml"
    secret.parent.mkdir()
    secret.write_text("apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata: {name: token-value-that-must-not-leak}\n")
    tenants = tmp_path / "tenants"
    write_tenant(tenants, "alpha")
    (tenants / "beta.yaml").symlink_to(secret)
    result = run_validate("--tenants", str(tenants))
    assert result.returncode == 1
    assert f"{tenants / 'beta.yaml'}: is a symbolic link; it must be a file of its own" in result.stdout
    assert "token-value" not in result.stdout + result.stderr


# --- YAML 1.2, as editors read it ----------------------------------------------------------------------------------

# What the YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution) reads each value as: what an editor
# (the YAML language server, YAML 1.2 by default) and check-jsonschema show, and so what validate must read.
# PyYAML (YAML 1.1) read `on` and `yes` as true, `0755` as the octal 493, `2024-01-31` as a date and `1e3` as text.
CORE_SCHEMA = [
    ("on", "on"),
    ("off", "off"),
    ("yes", "yes"),
    ("no", "no"),
    ("y", "y"),
    ("true", True),
    ("True", True),
    ("FALSE", False),
    ("tRue", "tRue"),
    ("0755", 755),
    ("0o755", 0o755),
    ("0x1F", 31),
    ("-12", -12),
    ("+1", 1),
    ("1e3", 1000.0),
    ("1.5", 1.5),
    ("-.5", -0.5),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("1_000", "1_000"),
    ("0b101", "0b101"),
    ("1:20", "1:20"),
    ("2024-01-31", "2024-01-31"),
    ("~", None),
    ("null", None),
    ("NULL", None),
    ("", None),
    ("nULL", "nULL"),
    ("'0755'", "0755"),
    ('"on"', "on"),
    ("!!str 0755", "0755"),
    ("!!int '42'", 42),
    ("!!float 1", 1.0),
    ("<<", "<<"),
]


@pytest.mark.fast
@pytest.mark.parametrize(("written", "read"), CORE_SCHEMA, ids=[case[0] or "empty" for case in CORE_SCHEMA])
def test_values_are_read_by_the_yaml_1_2_core_schema(written: str, read: object) -> None:
    document = parse_yaml(f"value: {written}\n".encode(), FILE)

    assert document.data == {"value": read}
    assert type(document.data["value"]) is type(read)


@pytest.mark.fast
def test_nan_is_a_float() -> None:
    assert math.isnan(parse_yaml(b"value: .NaN\n", FILE).data["value"])


@pytest.mark.fast
def test_a_service_named_on_and_yes_is_valid() -> None:
    path = write_tenant(Path("tenants"), "payments", "services:\n  - name: on\n  - name: yes\n")

    services = read_tenant_file(path).tenant.spec.services

    assert [service.name for service in services] == ["on", "yes"]


@pytest.mark.fast
def test_a_bare_0755_is_the_number_755_and_the_message_says_to_quote_it() -> None:
    text = VALID.replace("  contact:", "  costCenter: 0755\n  contact:")

    # Line 5, as an editor shows it: "Incorrect type. Expected string." on 755.
    assert read_problems(text.encode()) == [
        f"{FILE}:5:15: metadata.costCenter: must be text, got 755; write it in quotes, '0755', to keep it as text"
    ]


@pytest.mark.fast
def test_a_quoted_0755_is_text() -> None:
    path = write_tenant(
        Path("tenants"), "payments", text=VALID.replace("  contact:", "  costCenter: '0755'\n  contact:")
    )

    assert read_tenant_file(path).tenant.metadata.cost_center == "0755"


MERGED = """\
services:
  - &service
    name: order-sync
    size: medium
    environments: [dev, prod]
  - <<: *service
    name: order-audit
  - <<: [*service, {lifecycle: retired}]
    name: order-archive
    size: small
replicasBase: null
"""


@pytest.mark.fast
def test_a_merge_key_merges_as_editors_do() -> None:
    # Its own keys win over the merged ones; of the merged, the first mapping's.
    document = parse_yaml(tenant_text("payments", MERGED.replace("replicasBase: null\n", "")).encode(), FILE)

    services = document.data["spec"]["services"]
    assert services[1] == {"name": "order-audit", "size": "medium", "environments": ["dev", "prod"]}
    assert services[2] == {
        "name": "order-archive",
        "size": "small",
        "environments": ["dev", "prod"],
        "lifecycle": "retired",
    }
    # A merged value is found where it is written: under the anchor.
    assert document.mark(("spec", "services", 1, "size")).line == 12


@pytest.mark.fast
def test_a_merged_tenant_file_is_valid() -> None:
    path = write_tenant(Path("tenants"), "payments", MERGED.replace("replicasBase: null\n", ""))

    tenant = read_tenant_file(path).tenant

    assert [(service.name, service.size, service.lifecycle) for service in tenant.spec.services] == [
        ("order-sync", "medium", "active"),
        ("order-audit", "medium", "active"),
        ("order-archive", "small", "retired"),
    ]


@pytest.mark.fast
def test_a_merge_key_of_other_than_mappings_is_refused_with_its_line_and_the_fix() -> None:
    text = VALID + "  services:\n    - <<: order-sync\n      name: order-audit\n"

    assert read_problems(text.encode()) == [
        f"{FILE}:10:11: invalid YAML: a merge key ('<<') takes a mapping or a list of mappings, for example"
        " `<<: *defaults`"
    ]


@pytest.mark.fast
def test_a_quoted_merge_key_is_an_unknown_key() -> None:
    text = VALID + '  services:\n    - "<<": {size: small}\n      name: order-audit\n'

    found = read_problems(text.encode())

    assert found[0].startswith(f"{FILE}:10:7: spec.services[0].<<: unknown key '<<'"), found


@pytest.mark.fast
def test_anchors_and_aliases_repeat_a_value() -> None:
    spec = "services:\n  - name: order-sync\n    replicas: {prod: &bounds {min: 2, max: 6}, test: *bounds}\n"
    path = write_tenant(Path("tenants"), "payments", spec)

    replicas = read_tenant_file(path).tenant.spec.services[0].replicas

    assert (replicas.test, replicas.prod) == (replicas.prod, replicas.prod)
    assert (replicas.prod.min, replicas.prod.max) == (2, 6)


@pytest.mark.fast
def test_keys_that_read_as_the_same_text_are_duplicates() -> None:
    text = VALID + "  quota:\n    1: a\n    '1': b\n"

    assert read_problems(text.encode()) == [f"{FILE}:11:5: duplicate key '1' (first at line 10)"]


@pytest.mark.fast
def test_an_explicit_key_beside_a_merged_one_is_no_duplicate() -> None:
    document = parse_yaml(b"a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  x: 3\n", FILE)

    assert document.data["b"] == {"x": 3, "y": 2}


@pytest.mark.parametrize(
    ("value", "place", "message"),
    [
        ("!!timestamp 2024-01-31", "9:9", f"invalid YAML: tag !!timestamp {TAG_REFUSED}"),
        ("!!binary aGVsbG8=", "9:9", f"invalid YAML: tag !!binary {TAG_REFUSED}"),
        ("!custom small", "9:9", f"invalid YAML: tag !custom {TAG_REFUSED}"),
        ("!!set {a, b}", "9:9", f"invalid YAML: tag !!set {TAG_REFUSED}"),
        ("!!int small", "9:9", "invalid YAML: 'small' is not a valid int"),
        ("!!bool yes", "9:9", "invalid YAML: 'yes' is not a valid bool"),
        ("!!null 0", "9:9", "invalid YAML: '0' is not a valid null"),
    ],
    ids=["timestamp", "binary", "local", "set", "int", "bool-yes", "null"],
)
@pytest.mark.fast
def test_tags_outside_the_core_schema_are_refused_at_their_line(value: str, place: str, message: str) -> None:
    assert read_problems((VALID + f"  size: {value}\n").encode()) == [f"{FILE}:{place}: {message}"]


@pytest.mark.fast
def test_core_tags_on_collections_are_read() -> None:
    document = parse_yaml(b"a: !!map {b: !!seq [1]}\n", FILE)

    assert document.data == {"a": {"b": [1]}}


@pytest.mark.fast
def test_the_core_schema_agrees_with_check_jsonschemas_reading() -> None:
    # check-jsonschema (ruamel.yaml's YAML 1.2 resolver, dates kept as text) reads as the core schema but for the
    # extensions of ruamel.yaml (`1_000`, `0b101`), which no editor has.
    from check_jsonschema.parsers import ParserSet

    read = ParserSet().get(Path("x.yaml"), "yaml")
    extensions = {"1_000", "0b101", "<<"}  # and `<<` as a value, which it takes for a misplaced merge key
    for written, expected in CORE_SCHEMA:
        if written in extensions or written.startswith("!"):
            continue
        theirs = read(io.BytesIO(f"value: {written}\n".encode()))["value"]
        assert theirs == expected or (written == "2024-01-31" and str(theirs) == expected), written


@pytest.mark.fast
def test_a_colon_inside_a_flow_value_is_read_as_yaml_1_2_reads_it() -> None:
    # libyaml's older C parser refuses it ("found unexpected ':'"); editors and YAML 1.2 read one value.
    assert parse_yaml(b"viewers: [system:masters, oidc:auditors]\n", FILE).data == {
        "viewers": ["system:masters", "oidc:auditors"]
    }


@pytest.mark.fast
def test_more_values_than_any_tenant_has_are_refused_without_aliases_too() -> None:
    """The expansion is walked only where a document has an alias or more nodes than the limit: without aliases its
    nodes are its expansion, and a document of more is refused, for its size, not for aliases it does not hold. (Not
    timed: twenty thousand nodes may meet a collection of whatever heap the test process holds.)"""
    with pytest.raises(InputError) as raised:
        parse_yaml(("apiVersion:\n" + "- 1\n" * 20_001).encode(), FILE)
    assert [str(problem) for problem in raised.value.problems] == [f"{FILE}:1:1: document holds more than 20000 values"]


@pytest.mark.parametrize(
    "nested",
    [
        lambda depth: "[" * depth + "]" * depth,
        lambda depth: "{a: " * depth + "x" + "}" * depth,
        lambda depth: "- " * depth + "x",
        lambda depth: "\n".join(" " * level + "a:" for level in range(depth)) + " x",
    ],
    ids=["flow-sequence", "flow-mapping", "block-sequence", "block-mapping"],
)
@pytest.mark.fast
def test_the_nesting_limit_holds_at_its_edge(nested: Callable[[int], str]) -> None:
    """A document of a hundred levels is read, one of a hundred and one refused, however few its characters (the
    depth pass is spared only for documents too small to reach the limit: yaml_source._shallow)."""
    parse_yaml(nested(MAX_DEPTH).encode(), FILE)
    with pytest.raises(InputError) as raised:
        parse_yaml(nested(MAX_DEPTH + 1).encode(), FILE)
    assert f"invalid YAML: nested more than {MAX_DEPTH} levels" in str(raised.value)
