"""The small commands: help, version, schema, and the usage errors they share."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from helpers import PROJECT_DIR
from typer.testing import CliRunner

from imaas import cli

pytestmark = pytest.mark.fast

runner = CliRunner()


def test_schema_command_prints_the_schema() -> None:
    result = runner.invoke(cli.app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["properties"]["apiVersion"]["const"] == "imaas.io/v1alpha1"


@pytest.mark.parametrize("command", ["validate", "plan", "diff", "new", "schema", "stacks", "approvals"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


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
