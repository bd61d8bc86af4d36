"""What a reviewer sees of a change: each changed field with its old and new value, the fences in full, and a
report that stays within GitHub's limits at any size."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import write_tenant
from planning import FIXTURE_TENANTS, plan_stack
from tokens import (
    APPLICATION,
    BRANCH,
    ECR,
    GITHUB_REPOSITORY,
    NAMESPACE,
    NETWORK_POLICY,
    QUOTA,
    ROLE_BINDING,
    TENANT_COMPONENT,
)

from imaas.declarations import safety
from imaas.plan.diff import Change, compare_plans, diff_plans
from imaas.plan.field_diff import FieldChange
from imaas.plan.markdown import FULL_REPORT, diff_markdown
from imaas.plan.record import Plan, PlannedResource

SNAPSHOTS = Path(__file__).parent / "snapshots"


def copied_fixtures(tmp_path: Path) -> Path:
    tenants = tmp_path / "tenants"
    shutil.copytree(FIXTURE_TENANTS, tenants)
    return tenants


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new))


def report(base: Plan, head: Plan) -> str:
    compared = compare_plans(base, head)
    resources = base.by_urn() | head.by_urn()
    return diff_markdown(compared.changes, stack=head.stack, resources=resources, unchanged=compared.unchanged)


def matches_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from tests/snapshots/{name} (UPDATE_SNAPSHOTS=1)"


def changed(changes: list[Change], type_: str, name: str) -> list[str]:
    [change] = [c for c in changes if (c.resource.type, c.resource.name) == (type_, name)]
    assert change.action == "change"
    return change.lines()


@pytest.mark.slow
def test_a_quota_change_shows_each_old_and_new_value(tmp_path: Path) -> None:
    tenants = copied_fixtures(tmp_path)
    base = plan_stack("dev", tenants)
    edit(tenants / "payments.yaml", 'cpu: "24"', 'cpu: "32"')
    head = plan_stack("dev", tenants)
    changes = diff_plans(base, head)
    assert changed(changes, QUOTA, "payments-dev-quota") == [
        '~ spec.hard["limits.cpu"]: "24" -> "32"',
        '~ spec.hard["requests.cpu"]: "24" -> "32"',
    ]
    matches_snapshot("quota-change.md", report(base, head))


@pytest.mark.slow
def test_an_onboarding_shows_the_new_tenant_in_one_line_and_changes_no_other_tenant(tmp_path: Path) -> None:
    tenants = copied_fixtures(tmp_path)
    base = plan_stack("dev", tenants)
    write_tenant(tenants, "billing", "network:\n  allowFrom: [orders]\nservices:\n  - name: invoices\n")
    head = plan_stack("dev", tenants)
    changes = diff_plans(base, head)
    # Orders may now call billing, whose own ingress admits it: orders' policy, which reaches every tenant namespace
    # of its environment already, does not change (no tenant's stack depends on another's file).
    assert not [c for c in changes if (c.resource.type, c.resource.name) == (NETWORK_POLICY, "orders-dev-isolation")]
    (policy,) = [c for c in changes if (c.resource.type, c.resource.name) == (NETWORK_POLICY, "billing-dev-isolation")]
    assert policy.action == "add"
    text = report(base, head)
    assert "| tenant `billing` |" in text
    assert "<summary><b>Tenant <code>billing</code></b>" not in text
    matches_snapshot("onboarding.md", text)


@pytest.mark.slow
def test_retiring_a_service_says_it_archives_and_stops_the_workload(tmp_path: Path) -> None:
    tenants = copied_fixtures(tmp_path)
    base = plan_stack("dev", tenants)
    edit(tenants / "orders.yaml", "- name: order-events\n", "- name: order-events\n      lifecycle: retired\n")
    changes = diff_plans(base, plan_stack("dev", tenants))
    assert "~ archived: false -> true" in changed(changes, GITHUB_REPOSITORY, "orders-order-events")
    stopped = [c for c in changes if c.resource.type == APPLICATION and c.action == "delete"]
    assert stopped and all(c.note.startswith("stops the workload") for c in stopped)


@pytest.mark.fast
def test_fence_fields_are_never_cut_or_elided() -> None:
    subjects = [f"repo:org/t-s{index}:ref:refs/heads/dev" for index in range(40)]
    old = PlannedResource("urn:r", "aws:iam/role:Role", "r", None, True, {"assumeRolePolicy": {"sub": subjects[:1]}})
    new = PlannedResource("urn:r", "aws:iam/role:Role", "r", None, True, {"assumeRolePolicy": {"sub": subjects}})
    noisy = {f"tag{index}": "x" * 300 for index in range(30)}
    [change] = diff_plans(Plan("imaas", "dev", [old]), Plan("imaas", "dev", [new]))
    assert len(change.lines()) == 39
    [change] = diff_plans(
        Plan("imaas", "dev", [old]),
        Plan("imaas", "dev", [PlannedResource(**{**vars(new), "inputs": {**new.inputs, **noisy}})]),
    )
    lines = change.lines(limit=12, width=100)
    assert sum(line.startswith("+ assumeRolePolicy.sub:") for line in lines) == 39  # every subject, in full
    assert lines[-1] == "… and 18 more fields"
    assert all(len(line) <= 120 for line in lines if "tag" in line)


@pytest.mark.fast
def test_field_changes_name_the_deepest_place_and_read_json_text() -> None:
    old = {"policy": '{"Statement": [{"Action": ["ecr:PutImage"]}]}', "a": {"b.c": 1}}
    new = {"policy": '{"Statement": [{"Action": ["ecr:PutImage", "ecr:*"]}]}', "a": {"b.c": 2}}
    [change] = diff_plans(
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, old)]),
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, new)]),
    )
    assert change.fields == (
        FieldChange('a["b.c"]', "change", 1, 2),
        FieldChange("policy.Statement[0].Action", "add", new="ecr:*"),
    )


def _tenant_plan(tenants: int, per_tenant: int, quota: str) -> Plan:
    resources = []
    for index in range(tenants):
        tenant = f"tenant-{index:04d}"
        component = f"urn:pulumi:dev::imaas::{TENANT_COMPONENT}::{tenant}"
        resources.append(PlannedResource(component, TENANT_COMPONENT, tenant, None, False, {}))
        for number in range(per_tenant):
            inputs = {"metadata": {"labels": {"imaas.io/tenant": tenant}}, "spec": {"hard": {"cpu": quota}}}
            urn = f"{component}$kubernetes:core/v1:ResourceQuota::{tenant}-{number}"
            resources.append(PlannedResource(urn, QUOTA, f"{tenant}-{number}", component, True, inputs))
    return Plan("imaas", "dev", resources)


@pytest.mark.fast
def test_the_summary_of_a_thousand_tenants_stays_within_its_budget_and_names_every_tenant() -> None:
    # The workflow gives one stack's report 900,000 characters of a job summary (GitHub takes 1 MiB) for tenants of
    # about 60 resources; a tenth of both exercises the same cuts at a tenth of the cost.
    budget = 90_000
    onboarding = diff_markdown(diff_plans(Plan("imaas", "dev", []), _tenant_plan(1000, 6, "4")), budget=budget)
    assert len(onboarding) <= budget
    assert onboarding.count("| tenant `tenant-") == 1000
    assert FULL_REPORT not in onboarding
    changes = diff_plans(_tenant_plan(1000, 6, "4"), _tenant_plan(1000, 6, "8"))
    cut = diff_markdown(changes, budget=budget)
    assert len(cut) <= budget
    assert FULL_REPORT in cut
    assert all(f"`tenant-{index:04d}`" in cut or f"tenant-{index:04d}</code>" in cut for index in range(1000))
    whole = diff_markdown(changes)  # no budget: the whole report, for the artifact
    assert FULL_REPORT not in whole
    assert len(whole) > budget


@pytest.mark.fast
@pytest.mark.parametrize("budget", [60_000, 5_000])
def test_a_small_budget_cuts_the_report_and_says_where_the_rest_is(budget: int) -> None:
    for base, head in (
        (Plan("imaas", "dev", []), _tenant_plan(1000, 6, "4")),
        (_tenant_plan(300, 10, "4"), _tenant_plan(300, 10, "8")),
    ):
        text = diff_markdown(diff_plans(base, head), budget=budget)
        assert len(text) <= budget
        assert FULL_REPORT in text
        assert text.count("<details") == text.count("</details>")


@pytest.mark.fast
def test_the_replacing_inputs_are_the_providers_own() -> None:
    data = Path(__file__).parent / "data" / "providers"
    for provider in ("github", "aws", "tls"):
        for type_, resource in json.loads((data / f"{provider}.json").read_text())["resources"].items():
            top = {path.split(".")[0] for path in resource.get("forceNew", [])}
            assert set(safety.REPLACING_INPUTS.get(type_, ())) == top, type_


def _one_change(type_: str, old: dict, new: dict, **options: object) -> Change:
    before = PlannedResource("urn:x", type_, "x", None, True, old, **options)
    [change] = diff_plans(Plan("imaas", "dev", [before]), Plan("imaas", "dev", [replace(before, inputs=new)]))
    return change


@pytest.mark.fast
def test_a_change_that_replaces_a_protected_or_data_holding_resource_fails_the_diff() -> None:
    renamed = _one_change(ECR, {"name": "a/svc"}, {"name": "a/api"}, protect=True, retainOnDelete=True)
    assert renamed.destructive
    assert renamed.danger == "replaces a protected resource: name cannot change in place"
    key = _one_change(
        ECR,
        {"encryptionConfigurations": [{"encryptionType": "KMS"}]},
        {"encryptionConfigurations": [{"encryptionType": "AES256"}]},
        protect=True,
    )
    assert key.replacing == ("encryptionConfigurations",) and key.destructive
    namespace = _one_change(NAMESPACE, {"metadata": {"name": "a-dev"}}, {"metadata": {"name": "b-dev"}}, protect=True)
    assert namespace.destructive


@pytest.mark.fast
def test_a_replacement_of_what_holds_nothing_is_said_but_passes() -> None:
    binding = _one_change(ROLE_BINDING, {"roleRef": {"name": "viewer"}}, {"roleRef": {"name": "developer"}})
    assert not binding.destructive
    assert binding.note == "replaces it: roleRef.name cannot change in place"
    branch = _one_change(BRANCH, {"sourceBranch": "dev"}, {"sourceBranch": "test"}, retainOnDelete=True)
    assert not branch.destructive and branch.replacing == ("sourceBranch",)
    # What changes in place is no replacement: a repository's description, a quota's numbers.
    assert not _one_change(GITHUB_REPOSITORY, {"description": "a"}, {"description": "b"}, protect=True).replacing
    assert not _one_change(QUOTA, {"spec": {"hard": {"pods": "1"}}}, {"spec": {"hard": {"pods": "2"}}}).replacing


@pytest.mark.fast
def test_lists_of_named_items_are_compared_by_name_or_value_never_as_a_rename() -> None:
    """Retiring one service and adding another removes one item and adds one: never `sourceRepos[1]: a -> b`."""
    old = {
        "sourceRepos": ["https://github.com/o/t-a.git", "https://github.com/o/t-broker.git"],
        "includes": ["t-a", "t-broker"],
        "groups": [{"name": "t-a", "rules": [{"alert": "Down", "expr": "up == 0"}]}, {"name": "t-broker", "rules": []}],
        "subjects": [{"kind": "Group", "name": "t-devs"}, {"kind": "Group", "name": "t-old"}],
        "to": [{"namespaceSelector": {"matchLabels": {"name": "a-dev"}}}],
        "destinations": [{"namespace": "t-dev", "server": "s"}, {"namespace": "t-test", "server": "s"}],
    }
    new = {
        "sourceRepos": ["https://github.com/o/t-a.git", "https://github.com/o/t-shopper.git"],
        "includes": ["t-a", "t-shopper"],
        "groups": [{"name": "t-a", "rules": [{"alert": "Down", "expr": "up < 1"}]}, {"name": "t-shopper", "rules": []}],
        "subjects": [{"kind": "Group", "name": "t-devs"}, {"kind": "Group", "name": "t-new"}],
        "to": [{"namespaceSelector": {"matchLabels": {"name": "b-dev"}}}],
        "destinations": [{"namespace": "t-dev", "server": "s"}, {"namespace": "t-prod", "server": "s"}],
    }
    [change] = diff_plans(
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, old)]),
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, new)]),
    )
    lines = change.lines(limit=50)
    assert not [line for line in lines if line.startswith("~") and "[name=t-a]" not in line]
    assert '- sourceRepos: "https://github.com/o/t-broker.git"' in lines
    assert '+ sourceRepos: "https://github.com/o/t-shopper.git"' in lines
    assert '- includes: "t-broker"' in lines and '+ includes: "t-shopper"' in lines
    assert '~ groups[name=t-a].rules[alert=Down].expr: "up == 0" -> "up < 1"' in lines
    assert '- groups: {"name": "t-broker", "rules": []}' in lines
    assert '+ subjects: {"kind": "Group", "name": "t-new"}' in lines
    assert '+ to: {"namespaceSelector": {"matchLabels": {"name": "b-dev"}}}' in lines
    assert '- destinations: {"namespace": "t-test", "server": "s"}' in lines
    # The same items in another order are one change of the list, since an order may matter.
    [reordered] = diff_plans(
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, {"args": ["a", "b"]})]),
        Plan("imaas", "dev", [PlannedResource("urn:x", "t", "x", None, True, {"args": ["b", "a"]})]),
    )
    assert reordered.lines() == ['~ args: ["a", "b"] -> ["b", "a"]']
