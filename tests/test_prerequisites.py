"""Prerequisites as settings (imaas/checks/prerequisites.py): a stack whose Applications read private repositories
has a credential for them, one with observability stores has their credential key; otherwise the program refuses it
before declaring anything, with one line naming the setting to add. Argo CD is the stack's unless the cluster runs
its own (imaas:preinstalled)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import copy_project
from planning import FIXTURE_TENANTS, of_type, plan_stack
from typer.testing import CliRunner

from imaas import cli
from imaas.checks import prerequisites
from imaas.declarations import charts
from imaas.declarations.types import HELM_RELEASE
from imaas.inputs.problems import InputError
from imaas.model.settings import StackSettings
from imaas.plan.record import Plan

runner = CliRunner()
KEY_MESSAGE = (
    "Pulumi.{stack}.yaml: imaas:observabilityCredentialKey: the observability stores check a credential derived from "
    'this key: set it with `pulumi config set --secret observabilityCredentialKey "$(openssl rand -base64 48)"`'
)


def refusal(stack: str, tenants: Path = FIXTURE_TENANTS, **settings: object) -> list[str]:
    with pytest.raises(InputError) as raised:
        plan_stack(stack, tenants, **settings)
    return [str(problem) for problem in raised.value.problems]


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stack_whose_stores_would_have_no_credential_key_is_refused_naming_the_setting(stack: str) -> None:
    assert refusal(stack, observabilityCredentialKey=None) == [KEY_MESSAGE.format(stack=stack)]


@pytest.mark.slow
def test_a_stack_installs_argo_cd_unless_the_cluster_runs_its_own() -> None:
    def installed(plan: Plan) -> bool:
        return any(r.inputs.get("chart") == charts.ARGO_CD.name for r in of_type(plan, HELM_RELEASE))

    assert not installed(plan_stack("prod"))  # Pulumi.prod.yaml: imaas:preinstalled: [argocd]
    assert installed(plan_stack("prod", preinstalled=None, argocdImpersonation=None))


@pytest.mark.slow
def test_the_plan_command_exits_1_with_one_line_and_writes_no_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    copy_project(project)
    path = project / "Pulumi.prod.yaml"
    config = yaml.safe_load(path.read_text())
    del config["config"]["imaas:observabilityCredentialKey"]
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    out = tmp_path / "plan.json"
    result = runner.invoke(cli.app, ["plan", "--stack", "prod", "--tenants", str(FIXTURE_TENANTS), "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert KEY_MESSAGE.format(stack="prod") in result.output.splitlines()
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.fast
def test_a_repository_credential_is_one_function_of_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stack's deploy keys cover every repository its Applications read; a repository no function in the list
    covers is refused, naming it."""
    settings = StackSettings(
        environments=["dev"], ingress_host_suffix="apps.example.com",
        ecr_registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com", argocd_impersonation=True,
        preinstalled=["argocd"],
    )  # fmt: skip
    objects = prerequisites.ArgoCdObjects(projects=["alpha"], repositories=["alpha-one", "alpha-two"])
    assert (prerequisites.deploy_key,) == prerequisites.REPOSITORY_CREDENTIALS
    assert prerequisites.repository_credentials(settings, objects) is None

    def only_one(settings: StackSettings, repository: str) -> bool:
        return repository == "alpha-one"

    monkeypatch.setattr(prerequisites, "REPOSITORY_CREDENTIALS", (only_one,))
    refused = prerequisites.repository_credentials(settings, objects)
    assert refused is not None
    setting, message = refused
    assert setting == "github:owner"
    assert "(alpha-two)" in message
