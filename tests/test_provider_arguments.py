"""Every GitHub and AWS resource of both stacks' plans, checked against the providers' own definitions (the
extracts in tests/data/providers, see its README): a mock engine accepts any input, a real provider refuses an
unknown argument or a value outside what it validates, and only at `pulumi up`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from planning import example_plan

from imaas.plan.record import PlannedResource

pytestmark = pytest.mark.slow

EXTRACTS = Path(__file__).resolve().parent / "data" / "providers"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
PROVIDERS = ("github", "aws", "tls")
"""Each is the type tokens' prefix and the name of its extract."""
DOCUMENTED_PERMISSIONS = {"pull", "triage", "push", "maintain", "admin"}
"""Repository permissions as documented (RepositoryCollaborators' note: the provider does not validate them, and
a custom role name would pass it, so the platform keeps to the built-in roles)."""


def definitions() -> dict[str, dict[str, Any]]:
    return {
        token: definition
        for name in PROVIDERS
        for token, definition in json.loads((EXTRACTS / f"{name}.json").read_text())["resources"].items()
    }


def argument_problems(type_: str, inputs: dict[str, Any], definition: dict[str, Any]) -> list[str]:
    """What the provider would refuse in `inputs`: missing required inputs, unknown names at any depth, and values
    outside an enum, each named by its dotted path."""
    problems = [f"{type_}: {name}: required" for name in definition["required"] if name not in inputs]
    return problems + [f"{type_}: {problem}" for problem in _walk("", inputs, definition)]


def _walk(path: str, value: Any, definition: dict[str, Any]) -> list[str]:
    if isinstance(value, dict) and set(value) == {SECRET_SIG, "value"}:
        value = value["value"]  # a secret: the provider receives the value
    if isinstance(value, list):
        return [problem for item in value for problem in _walk(path, item, definition)]
    problems = []
    allowed = definition["enums"].get(path)
    if allowed is not None and value not in allowed:
        problems.append(f"{path}: {value!r} is not one of {', '.join(allowed)}")
    names = definition["inputs"] if not path else definition["nested"].get(path)
    if isinstance(value, dict) and names is not None:  # otherwise a free-form map (tags), whose keys are data
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            problems += [f"{child}: no such argument"] if key not in names else _walk(child, item, definition)
    return problems


def provider_resources(stack: str) -> list[PlannedResource]:
    return [r for r in example_plan(stack).resources if r.custom and r.type.split(":")[0] in PROVIDERS]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_github_and_aws_argument_is_one_the_provider_knows_with_a_value_it_accepts(stack: str) -> None:
    known = definitions()
    resources = provider_resources(stack)
    assert {r.type for r in resources} <= set(known), "every type the program declares is in the extracts"
    assert [p for r in resources for p in argument_problems(r.type, r.inputs, known[r.type])] == []


def test_the_check_sees_both_providers_and_the_nested_arguments() -> None:
    """The dev stack owns the global resources: GitHub repositories, rulesets and teams, ECR and IAM are there."""
    types = {r.type.split(":")[-1] for r in provider_resources("dev")}
    assert types >= {"Repository", "OrganizationRuleset", "Team", "TeamMembers", "RepositoryCollaborators", "Role"}
    rulesets = [r for r in provider_resources("dev") if r.type.endswith(":OrganizationRuleset")]
    assert rulesets and all(r.inputs["rules"] and r.inputs["conditions"] for r in rulesets)


def test_collaborator_permissions_are_built_in_roles() -> None:
    collaborators = [r for r in provider_resources("dev") if r.type.endswith(":RepositoryCollaborators")]
    permissions = {entry["permission"] for r in collaborators for entry in [*r.inputs["teams"], *r.inputs["users"]]}
    assert permissions and permissions <= DOCUMENTED_PERMISSIONS


def test_a_wrong_value_or_name_is_reported_at_any_depth() -> None:
    known = definitions()
    [ruleset] = [r for r in provider_resources("dev") if r.type.endswith(":OrganizationRuleset")][:1]
    broken = json.loads(json.dumps(ruleset.inputs))
    broken["enforcement"] = "enabled"
    broken["conditions"]["refName"]["include"] = broken["conditions"]["refName"].pop("includes")
    broken["rules"]["pullRequest"] = {"allowedMergeMethods": ["merge", "fast-forward"]}
    del broken["target"]
    assert sorted(argument_problems(ruleset.type, broken, known[ruleset.type])) == sorted(
        [
            f"{ruleset.type}: target: required",
            f"{ruleset.type}: enforcement: 'enabled' is not one of disabled, active, evaluate",
            f"{ruleset.type}: conditions.refName.include: no such argument",
            f"{ruleset.type}: rules.pullRequest.allowedMergeMethods: 'fast-forward' is not one of merge, squash,"
            " rebase",
        ]
    )
    registry = next(r for r in provider_resources("dev") if r.type == "aws:ecr/repository:Repository")
    broken = {**registry.inputs, "encryptionConfigurations": [{"encryptionType": "kms"}], "imageTagMutable": True}
    assert sorted(argument_problems(registry.type, broken, known[registry.type])) == sorted(
        [
            f"{registry.type}: encryptionConfigurations.encryptionType: 'kms' is not one of AES256, KMS, KMS_DSSE",
            f"{registry.type}: imageTagMutable: no such argument",
        ]
    )
