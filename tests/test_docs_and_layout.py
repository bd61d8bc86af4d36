"""Generated files in sync with the models, the model layer free of Pulumi, and the small commands."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import PROJECT_DIR
from typer.testing import CliRunner

from imaas import cli, docs
from imaas.checks import across_files
from imaas.guardrails import GUARDRAILS
from imaas.model.schema import tenant_schema_text

pytestmark = pytest.mark.fast

runner = CliRunner()


def test_schema_file_is_up_to_date() -> None:
    assert docs.SCHEMA_PATH.read_text() == tenant_schema_text(), "schema/tenant.schema.json is stale: run make docs"


def test_tenant_reference_is_up_to_date() -> None:
    text = docs.REFERENCE_PATH.read_text()
    assert docs.with_reference(text) == text, "the tenant reference in docs/tenants.md is stale: run make docs"
    assert "| `spec.services[].visibility` |" in text


def test_schema_command_prints_the_schema() -> None:
    result = runner.invoke(cli.app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["properties"]["apiVersion"]["const"] == "imaas.io/v1alpha1"


@pytest.mark.parametrize("command", ["validate", "plan", "diff", "new", "schema", "stacks", "approvals"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def _rule_rows() -> list[tuple[str, list[str]]]:
    """The README's table of where each rule lives: each row's rule cell and the paths it names."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Where each rule lives") :].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("rule", "---"):
            rows.append((cells[0], re.findall(r"`([^`]+)`", cells[2])))
    return rows


def test_every_file_the_rules_table_names_exists() -> None:
    rows = _rule_rows()
    assert len(rows) > 20
    for rule, paths in rows:
        assert paths, f"README rules table: no file for {rule!r}"
        for path in paths:
            assert (PROJECT_DIR / path).is_file(), f"README rules table: {path} ({rule}) does not exist"


def _module_file(function: object) -> str:
    return str(Path(sys.modules[function.__module__].__file__).relative_to(PROJECT_DIR))


@pytest.mark.parametrize("rule", across_files.RULES, ids=lambda rule: rule.__name__)
def test_every_rule_across_tenant_files_has_its_row(rule: object) -> None:
    rows = [paths for cell, paths in _rule_rows() if cell.startswith(f"`{rule.__name__}`")]
    assert rows == [[_module_file(rule)]], f"README rules table: add a row for `{rule.__name__}`"


@pytest.mark.parametrize("guardrail", GUARDRAILS, ids=lambda guardrail: guardrail.name)
def test_every_guardrail_has_its_row(guardrail: object) -> None:
    rows = [paths for cell, paths in _rule_rows() if cell.startswith(f"`{guardrail.name}`")]
    assert rows == [[_module_file(guardrail.check)]], f"README rules table: add a row for `{guardrail.name}`"


def test_version_is_the_projects() -> None:
    result = runner.invoke(cli.app, ["--version"])
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert (result.exit_code, result.output) == (0, f"imaas {pyproject['project']['version']}\n")


@pytest.mark.parametrize("command", ["validate", "plan", "diff", "new", "approvals"])
def test_help_shows_placeholders_not_python_types_or_this_machines_paths(command: str) -> None:
    text = runner.invoke(cli.app, [command, "--help"]).output
    assert "<list" not in text
    assert "{base}" not in text
    assert str(PROJECT_DIR) not in text


@pytest.mark.parametrize("command", [["validate"], ["plan", "--stack", "dev"]])
def test_a_tenants_folder_that_does_not_exist_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(cli.app, [*command, "--tenants", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output == f"error: --tenants {tmp_path / 'missing'}: no such folder\n"


def test_validate_reports_a_subfolder_whose_files_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / ".git").mkdir()

    result = runner.invoke(cli.app, ["validate", "--tenants", str(tmp_path)])

    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if not line.startswith("✗")] == [
        f"{tmp_path / 'team'}: is a folder; tenant files are read from {tmp_path}/ only, not from subfolders"
    ]
