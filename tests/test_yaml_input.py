"""Hostile and broken tenant files: each gives an InputError with one short line per problem, quickly.

Tenant files come from anyone who can open a pull request and are read by CI, so reading them must never
crash, hang or flood the log, and every problem must name the file, line and column (DESIGN section 5).
"""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import PROJECT_DIR, tenant_text, write_tenant

from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import read_tenant_file
from imaas.inputs.yaml_source import MAX_FILE_BYTES

FILE = "tenants/payments.yaml"
VALID = tenant_text("payments")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read_problems(raw: bytes) -> list[str]:
    """Write `raw` as tenants/payments.yaml, read it, and return the problem lines; fail on anything but InputError."""
    path = Path(FILE)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(raw)
    started = time.perf_counter()
    with pytest.raises(InputError) as raised:
        read_tenant_file(path)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"reading took {elapsed:.2f} s"
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
            "2:7: invalid YAML: could not determine a constructor for the tag"
            " 'tag:yaml.org,2002:python/name:os.system'",
            id="python-tag",
        ),
        pytest.param(b"? [a, b]\n: c\n", "1:3: mapping keys must be plain values", id="sequence-as-key"),
    ],
)
def test_unreadable_yaml(raw: bytes, expected: str) -> None:
    found = read_problems(raw)

    assert found == [f"{FILE}:{expected}"]
    assert_clean(found)


@pytest.mark.parametrize(
    "raw",
    [b"[" * 5000, b"{a: " * 5000, b"- " * 5000 + b"x\n", b"apiVersion: " + b"[" * 5000 + b"]" * 5000 + b"\n"],
    ids=["flow-sequence", "flow-mapping", "block-sequence", "closed-flow-sequence"],
)
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
            ["9:9: spec.size: must be one of 'small', 'medium' or 'large', got datetime.date(2024, 1, 31)"],
            id="date-for-text",
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
def test_values_of_the_wrong_type(text: str, expected: list[str]) -> None:
    found = read_problems(text.encode())

    assert found == [f"{FILE}:{line}" for line in expected]
    assert_clean(found)


def test_tags_on_collections_construct_nothing() -> None:
    raw = VALID.replace("kind: Tenant", "kind: !!python/object/apply:os.system [echo owned]").encode()

    # The tag is ignored: the value stays a plain list, which is then simply the wrong value.
    assert read_problems(raw) == [f"{FILE}:2:7: kind: must be one of 'Tenant', got ['echo owned']"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    raw = VALID.encode() + b"#" * (MAX_FILE_BYTES + 1 - len(VALID)) + b"\n"

    found = read_problems(raw)

    # The whole file is the problem, so the line names the file only.
    assert found == [f"{FILE}: file is {MAX_FILE_BYTES + 2} bytes, more than the {MAX_FILE_BYTES} allowed"]


def test_a_file_at_the_size_limit_is_read() -> None:
    raw = VALID.encode() + b"#" * (MAX_FILE_BYTES - 1 - len(VALID)) + b"\n"
    path = write_tenant(Path("tenants"), "payments", text=raw.decode())
    assert path.stat().st_size == MAX_FILE_BYTES

    assert read_tenant_file(path).tenant.name == "payments"


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
        timeout=60,
        check=False,
    )


def good_tenants(directory: Path) -> Path:
    write_tenant(directory, "orders", "services:\n  - name: order-sync\n")
    write_tenant(directory, "payments", "network:\n  allowFrom: [orders]\n")
    return directory


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


BROKEN_MESSAGE = "invalid YAML: while parsing a flow sequence did not find expected ',' or ']'"


def test_cli_reports_a_broken_file_among_good_ones(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: [Tenant\n")

    result = run_validate("--tenants", str(tenants))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{tenants}/broken.yaml:3:1: {BROKEN_MESSAGE}"]
    assert "1 problem in 1 file" in result.stderr
    assert_no_traceback(result)


def test_cli_github_format_annotates_each_problem(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: [Tenant\n")
    write_tenant(tenants, "hr", "network:\n  allowFrom: [ghost]\n")

    result = run_validate("--tenants", str(tenants), "--format", "github")

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"::error file={tenants}/broken.yaml,line=3,col=1::{BROKEN_MESSAGE}",
        f"::error file={tenants}/hr.yaml,line=10,col=17,title=spec.network.allowFrom[0]::"
        "spec.network.allowFrom[0]: no tenant named 'ghost'",
    ]
    assert "2 problems in 2 files" in result.stderr
    assert_no_traceback(result)


def test_cli_valid_folder_exits_0(tmp_path: Path) -> None:
    result = run_validate("--tenants", str(good_tenants(tmp_path / "tenants")))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "2 tenant files valid" in result.stderr


def test_cli_checks_the_stack_limits_when_a_stack_is_given(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    write_tenant(tenants, "big", 'quota:\n  cpu: "100"\n')

    assert run_validate("--tenants", str(tenants)).returncode == 0
    dev = run_validate("--tenants", str(tenants), "--stack", "dev")
    assert dev.returncode == 1
    assert dev.stdout.splitlines() == [
        f"{tenants}/big.yaml:10:10: spec.quota.cpu: 100 is above this stack's quotaMax of 64"
    ]


def test_cli_unknown_stack_is_a_usage_error() -> None:
    result = run_validate("--stack", "nosuchstack")

    assert result.returncode == 2
    assert "Pulumi.nosuchstack.yaml: no settings for stack 'nosuchstack'" in result.stderr
    assert_no_traceback(result)


def test_cli_base_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")

    result = run_validate("--tenants", str(tenants), "--base", "HEAD", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})

    assert result.returncode == 2
    assert "not a git repository" in result.stderr
    assert_no_traceback(result)


def test_cli_file_with_a_nul_byte_gives_a_problem_not_a_traceback(tmp_path: Path) -> None:
    tenants = good_tenants(tmp_path / "tenants")
    (tenants / "broken.yaml").write_bytes(b"apiVersion: imaas.io/v1alpha1\nkind: Ten\0ant\n")

    result = run_validate("--tenants", str(tenants))

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{tenants}/broken.yaml:2:10: ")


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
