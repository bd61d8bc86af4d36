"""The stacks the workflows run: found in the Pulumi.*.yaml files, in the order their resources depend on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CLUSTER_SETTINGS
from typer.testing import CliRunner

from imaas import cli
from imaas.ci.stacks import stack_matrix
from imaas.inputs.problems import InputError

pytestmark = pytest.mark.fast

PROVIDER = "  aws:region: eu-west-1\n  github:owner: example-org\n"
OIDC_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def write_stack(project: Path, name: str, settings: str) -> None:
    (project / f"Pulumi.{name}.yaml").write_text(f"config:\n{PROVIDER}{CLUSTER_SETTINGS}{settings}", encoding="utf-8")


def test_two_stacks_the_owner_of_the_global_resources_first(tmp_path: Path) -> None:
    write_stack(tmp_path, "prod", "  imaas:environments: [prod]\n")
    write_stack(tmp_path, "dev", "  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n")
    matrix = stack_matrix(tmp_path)
    assert matrix.as_json() == {"stacks": ["dev", "prod"], "shared": ["dev"], "global": [], "hosting": ["prod"]}


def test_shards_are_found_and_ordered_in_waves(tmp_path: Path) -> None:
    # The shared resources' owner, then the other owners of global resources, then the stacks that only host.
    write_stack(tmp_path, "dev-n", f"  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n"
                f"  imaas:ownsSharedResources: false\n  imaas:githubOidcProviderArn: {OIDC_ARN}\n"
                "  imaas:tenantSelector: ['[n-z]*']\n")  # fmt: skip
    write_stack(tmp_path, "dev-a", "  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n"
                "  imaas:tenantSelector: ['[a-m]*']\n")  # fmt: skip
    write_stack(tmp_path, "prod-n", "  imaas:environments: [prod]\n  imaas:tenantSelector: ['[n-z]*']\n")
    write_stack(tmp_path, "prod-a", "  imaas:environments: [prod]\n  imaas:tenantSelector: ['[a-m]*']\n")
    matrix = stack_matrix(tmp_path)
    assert matrix.shared == ["dev-a"]
    assert matrix.global_ == ["dev-n"]
    assert matrix.hosting == ["prod-a", "prod-n"]
    assert matrix.stacks == ["dev-a", "dev-n", "prod-a", "prod-n"]


def test_a_project_without_stack_files_has_no_stacks(tmp_path: Path) -> None:
    assert stack_matrix(tmp_path).as_json() == {"stacks": [], "shared": [], "global": [], "hosting": []}


def test_an_invalid_stack_file_is_refused(tmp_path: Path) -> None:
    write_stack(tmp_path, "dev", "  imaas:environments: [dev]\n  imaas:ownsGlobalResources: maybe\n")
    with pytest.raises(InputError):
        stack_matrix(tmp_path)


def test_the_command_prints_the_matrix_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stack(tmp_path, "prod", "  imaas:environments: [prod]\n")
    write_stack(tmp_path, "dev", "  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n")
    monkeypatch.setattr(cli.output, "PROJECT_DIR", tmp_path)
    result = CliRunner().invoke(cli.app, ["stacks", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stacks"] == ["dev", "prod"]
    text = CliRunner().invoke(cli.app, ["stacks"])
    assert text.stdout.splitlines() == ["dev\tshared", "prod\thosting"]
