"""The plan command's outputs: the plan JSON contract, rendered manifests, the tree, and secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from crd_schemas import is_custom, validate_custom
from helpers import copy_project, write_tenants
from kube_schemas import validate_kubernetes
from planning import FIXTURE_TENANTS, plan_command
from typer.testing import CliRunner

from imaas import cli

runner = CliRunner()
# DESIGN section 5, written out here rather than taken from the code under test.
CONTRACT_KEYS = ("urn", "type", "name", "parent", "custom", "inputs", "protect", "retainOnDelete", "dependsOn")


@pytest.fixture(scope="module")
def dev_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("plan")
    output = plan_command("dev", out)
    return json.loads((out / "plan.json").read_text()), out / "manifests", output


@pytest.mark.slow
def test_plan_json_follows_the_contract(dev_outputs: tuple[dict, Path, str]) -> None:
    plan, _, _ = dev_outputs
    assert (plan["project"], plan["stack"]) == ("imaas", "dev")
    urns = {resource["urn"] for resource in plan["resources"]}
    assert len(urns) == len(plan["resources"])
    for resource in plan["resources"]:
        assert tuple(resource) == CONTRACT_KEYS
        assert resource["urn"].startswith("urn:pulumi:dev::imaas::")
        assert resource["urn"].endswith(f"::{resource['name']}")
        assert resource["parent"] is None or resource["parent"] in urns
        assert isinstance(resource["custom"], bool)
        assert isinstance(resource["inputs"], dict)
        assert isinstance(resource["protect"], bool)
        assert isinstance(resource["retainOnDelete"], bool)
        assert all(urn in urns for urn in resource["dependsOn"])
    namespace = next(r for r in plan["resources"] if r["name"] == "orders-dev" and r["custom"])
    assert namespace["type"] == "kubernetes:core/v1:Namespace"
    assert namespace["inputs"]["apiVersion"] == "v1"
    assert namespace["inputs"]["kind"] == "Namespace"


@pytest.mark.slow
def test_the_tree_shows_tenants_environments_and_resources(dev_outputs: tuple[dict, Path, str]) -> None:
    _, _, output = dev_outputs
    for line in ("orders Tenant", "orders-test Environment", "Namespace orders-test", "kubernetes:core/v1:Namespace"):
        assert line in output


@pytest.mark.slow
def test_every_rendered_object_passes_the_kubernetes_schema(dev_outputs: tuple[dict, Path, str]) -> None:
    plan, manifests, _ = dev_outputs
    files = sorted(manifests.rglob("*.yaml"))
    # Helm releases are Kubernetes resources of the provider but not objects of the API: nothing to render.
    kubernetes_objects = [
        r for r in plan["resources"]
        if r["type"].startswith("kubernetes:") and r["custom"] and r["type"] != "kubernetes:helm.sh/v3:Release"
    ]  # fmt: skip
    assert len(files) == len(kubernetes_objects) > 0
    kinds = set()
    for path in files:
        (document,) = list(yaml.safe_load_all(path.read_text()))
        kinds.add(document["kind"])
        if is_custom(document):
            validate_custom(document)
        else:
            validate_kubernetes(document)
    # The admission policies are built from dictionaries of the platform's own, which no SDK type checks.
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} <= kinds


@pytest.mark.slow
def test_the_crd_check_rejects_a_field_argo_cd_does_not_know(dev_outputs: tuple[dict, Path, str]) -> None:
    _, manifests, _ = dev_outputs
    project = yaml.safe_load((manifests / "argocd" / "appproject-orders.yaml").read_text())
    project["spec"]["sourceRepositories"] = project["spec"].pop("sourceRepos")
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(project)


@pytest.mark.slow
def test_render_replaces_an_earlier_rendering_and_refuses_any_other_folder(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    first = runner.invoke(
        cli.app,
        ["plan", "--stack", "prod", "--whole-cluster", "--tenants", str(FIXTURE_TENANTS), "--render", str(manifests)],
    )
    assert first.exit_code == 0, first.output
    stale = manifests / "gone-prod" / "deployment-old.yaml"
    stale.parent.mkdir()
    stale.write_text("kind: Deployment\n")
    second = runner.invoke(
        cli.app,
        ["plan", "--stack", "prod", "--whole-cluster", "--tenants", str(FIXTURE_TENANTS), "--render", str(manifests)],
    )
    assert second.exit_code == 0, second.output
    assert not stale.exists()
    assert (manifests / "_cluster" / "namespace-orders-prod.yaml").exists()

    foreign = tmp_path / "project"
    (foreign / "tenants").mkdir(parents=True)
    (foreign / "tenants" / "orders.yaml").write_text("kept: true\n")
    refused = runner.invoke(
        cli.app, ["plan", "--stack", "prod.orders", "--tenants", str(FIXTURE_TENANTS), "--render", str(foreign)]
    )
    assert refused.exit_code == 2
    assert "not empty and not an earlier rendering" in refused.output
    assert (foreign / "tenants" / "orders.yaml").read_text() == "kept: true\n"


@pytest.mark.slow
def test_secure_settings_never_reach_the_plan_or_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    copy_project(project)
    ciphertext = "v1:c2VjcmV0LWNpcGhlcnRleHQtdGhhdC1tdXN0LW5vdC1sZWFr"
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + f"  github:token:\n    secure: {ciphertext}\n")
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    result = runner.invoke(
        cli.app, ["plan", "--stack", "dev", "--tenants", str(FIXTURE_TENANTS), "--json", str(tmp_path / "plan.json")]
    )
    assert result.exit_code == 0, result.output
    assert ciphertext not in result.output
    assert ciphertext not in (tmp_path / "plan.json").read_text()


@pytest.mark.slow
def test_plan_of_a_folder_with_one_broken_file_exits_1_and_prints_no_tree(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", alpha={}, beta={})
    (tenants / "gamma.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata: {name: gamma}\n")
    result = runner.invoke(
        cli.app, ["plan", "--stack", "dev", "--tenants", str(tenants), "--json", str(tmp_path / "p")]
    )
    assert result.exit_code == 1
    assert f"{tenants / 'gamma.yaml'}:3:11: metadata.contact: is required" in result.output
    assert "spec: is required" in result.output
    assert "Traceback" not in result.output
    assert "Platform" not in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.fast
def test_plan_of_an_unknown_stack_is_a_usage_error() -> None:
    result = runner.invoke(cli.app, ["plan", "--stack", "staging"])
    assert result.exit_code == 2
    assert "Pulumi.staging.yaml: no settings for stack 'staging'" in result.output


@pytest.mark.fast
def test_invalid_stack_file_names_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.odd.yaml").write_text("config:\n  imaas:environments: [dev]\n  imaas:quotaMaks: {}\n")
    monkeypatch.setattr(cli.output, "PROJECT_DIR", tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["plan", "--stack", "odd"])
    assert result.exit_code == 1
    assert "Pulumi.odd.yaml:3:3: imaas:quotaMaks: unknown key 'quotaMaks'; did you mean 'quotaMax'?" in result.output
