"""`imaas diff --format markdown`: the PR comment and job summary of a change, checked against a snapshot.

The expected text is `tests/snapshots/diff.md`, compared byte for byte. After an intended change to the format,
refresh it with `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_diff_markdown.py` and review the diff of
the snapshot like any other change.
"""

from __future__ import annotations

import os
import random
from dataclasses import replace
from pathlib import Path

import pytest
from tokens import (
    AWS_PROVIDER,
    BRANCH,
    ECR,
    GITHUB_REPOSITORY,
    LIMITS,
    NAMESPACE,
    PLATFORM_COMPONENT,
    QUOTA,
    SERVICE_COMPONENT,
    TEAM,
    TENANT_COMPONENT,
)
from typer.testing import CliRunner

from imaas import cli
from imaas.plan.diff import diff_plans
from imaas.plan.markdown import PLATFORM, diff_markdown
from imaas.plan.ownership import tenant_of, urn_type_and_name
from imaas.plan.record import Plan, PlannedResource
from imaas.plan.report import short_type

pytestmark = pytest.mark.fast

runner = CliRunner()
SNAPSHOT = Path(__file__).parent / "snapshots" / "diff.md"


def urn(chain: tuple[str, ...], name: str) -> str:
    return f"urn:pulumi:dev::imaas::{'$'.join(chain)}::{name}"


def res(
    chain: tuple[str, ...], name: str, parent: str | None = None, inputs: dict | None = None, **options: object
) -> PlannedResource:
    custom = not chain[-1].startswith("imaas:")
    return PlannedResource(urn(chain, name), chain[-1], name, parent, custom, inputs or {}, **options)


def labelled(tenant: str, name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"imaas.io/tenant": tenant}}}


# The component tree: Platform > Tenant > Service, as the real program declares it.
PLATFORM_ROOT = res((PLATFORM_COMPONENT,), "imaas")
TENANT_A = res((PLATFORM_COMPONENT, TENANT_COMPONENT), "a", PLATFORM_ROOT.urn)
SERVICE_A = res((PLATFORM_COMPONENT, TENANT_COMPONENT, SERVICE_COMPONENT), "a-svc", TENANT_A.urn)
TENANT_C = res((PLATFORM_COMPONENT, TENANT_COMPONENT), "c", PLATFORM_ROOT.urn)
IN_TENANT = (PLATFORM_COMPONENT, TENANT_COMPONENT)
IN_SERVICE = (PLATFORM_COMPONENT, TENANT_COMPONENT, SERVICE_COMPONENT)


def plans() -> tuple[Plan, Plan]:
    """Before and after a change that adds, changes, deletes, deletes protected and deletes retained resources."""
    namespace = res((*IN_TENANT, NAMESPACE), "a-dev", TENANT_A.urn, labelled("a", "a-dev"), retainOnDelete=True)
    quota = res((*IN_TENANT, QUOTA), "a-dev-quota", TENANT_A.urn, labelled("a", "tenant-quota"))
    provider = res((PLATFORM_COMPONENT, AWS_PROVIDER), "aws", PLATFORM_ROOT.urn, {"region": "eu-west-1"})
    # Found under tenant `a` only through its parents: a GitHub repository has no labels or tags.
    retained_repo = res(
        (*IN_SERVICE, GITHUB_REPOSITORY), "a-svc", SERVICE_A.urn, {"name": "a-svc"}, retainOnDelete=True
    )
    # Branches hold work: the program retains them, like repositories.
    branch = replace(res((*IN_SERVICE, BRANCH), "a-svc-test", SERVICE_A.urn, {"branch": "test"}), retainOnDelete=True)
    registry = res((*IN_SERVICE, ECR), "a/svc", SERVICE_A.urn, {"tags": {"imaas.io/tenant": "a"}})
    protected = res((QUOTA,), "b-dev-quota", None, labelled("b", "tenant-quota"), protect=True)
    base = [PLATFORM_ROOT, provider, TENANT_A, SERVICE_A, namespace, quota, retained_repo, branch, registry, protected]

    relabelled = replace(namespace, inputs=labelled("a", "a-dev") | {"spec": {"finalizers": ["kubernetes"]}})
    limits = res((*IN_TENANT, LIMITS), "a-dev-limits", TENANT_A.urn, labelled("a", "tenant-limits"))
    team = res((PLATFORM_COMPONENT, TENANT_COMPONENT, TEAM), "c", TENANT_C.urn, {"name": "c"})
    moved_provider = replace(provider, inputs={"region": "eu-central-1"})
    head = [PLATFORM_ROOT, moved_provider, TENANT_A, SERVICE_A, relabelled, quota, limits, TENANT_C, team]
    return Plan("imaas", "dev", base), Plan("imaas", "dev", head)


def run_diff(tmp_path: Path, base: Plan, head: Plan, *options: str):
    base.write(tmp_path / "base.json")
    head.write(tmp_path / "head.json")
    return runner.invoke(cli.app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), *options])


def test_markdown_matches_the_snapshot_and_exit_code_is_1(tmp_path: Path) -> None:
    result = run_diff(tmp_path, *plans(), "--format", "markdown", "--full")
    assert result.exit_code == 1, result.output
    # The verdict goes to stderr: stdout is exactly the Markdown, ready for a comment or $GITHUB_STEP_SUMMARY.
    assert "2 change(s) would lose data, a fence or a running service" in result.stderr
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(result.stdout, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert result.stdout == expected, "Markdown differs from tests/snapshots/diff.md (UPDATE_SNAPSHOTS=1 refreshes it)"


def test_snapshot_shows_each_kind_of_change_where_a_reviewer_looks() -> None:
    text = SNAPSHOT.read_text(encoding="utf-8")
    header, _, body = text.partition("<details")
    assert header.startswith("### Offline plan diff: stack `dev`\n")
    assert (
        "**3 added, 2 changed, 4 deleted, 4 unchanged** (2 deleted from the stack but left in place by retainOnDelete)"
        in header
    )
    # The warning comes before any table and names both destructive deletions and their tenants.
    assert "> [!CAUTION]" in header
    assert "**2 changes would lose data, a fence or a running service.**" in header
    assert "> - tenant `a`: `aws:Repository` `a/svc`" in header
    assert "> - tenant `b`: `kubernetes:ResourceQuota` `b-dev-quota`" in header
    assert "| deleted | `aws:Repository` | `a/svc` | ⚠️ **deletes a data-holding resource** |" in body
    assert "| deleted | `kubernetes:ResourceQuota` | `b-dev-quota` | ⚠️ **deletes a protected resource** |" in body
    assert "| deleted | `github:Repository` | `a-svc` | left in place (retainOnDelete) |" in body
    assert '| changed | `kubernetes:Namespace` | `a-dev` | `+ spec: {"finalizers": ["kubernetes"]}` |' in body
    assert '| changed | `provider:aws` | `aws` | `~ region: "eu-west-1" -> "eu-central-1"` |' in body
    assert "| added | `kubernetes:LimitRange` | `a-dev-limits` |  |" in body
    # One table per tenant in name order, the platform's own resources last; groups that only add take one line.
    groups = [line for line in text.splitlines() if line.startswith(("<details", "<summary>"))]
    assert groups == [
        "<details open>",
        "<summary><b>Tenant <code>a</code></b>: 1 added, 1 changed, 3 deleted</summary>",
        "<details open>",
        "<summary><b>Tenant <code>b</code></b>: 1 deleted</summary>",
        "<details open>",
        "<summary><b>Platform (shared resources)</b>: 1 changed</summary>",
        "<details>",
        "<summary><b>Only added</b>: 1 group, 2 resources</summary>",
    ]
    assert "| tenant `c` | 2: `github:Team` ×1, `imaas:Tenant` ×1 |" in body
    # Within a table: deletions first, then changes, then additions.
    rows = [line.split(" | ")[0] for line in body.split("</details>")[0].splitlines() if line.startswith("| ")]
    assert rows[2:] == ["| deleted", "| deleted", "| deleted", "| changed", "| added"]


def test_output_does_not_depend_on_the_order_of_the_plans() -> None:
    base, head = plans()
    expected = diff_markdown(diff_plans(base, head), stack="dev", resources=base.by_urn() | head.by_urn())
    shuffler = random.Random(6)
    for _ in range(5):
        shuffled_base = replace(base, resources=shuffler.sample(base.resources, len(base.resources)))
        shuffled_head = replace(head, resources=shuffler.sample(head.resources, len(head.resources)))
        changes = diff_plans(shuffled_base, shuffled_head)
        resources = shuffled_head.by_urn() | shuffled_base.by_urn()
        assert diff_markdown(shuffler.sample(changes, len(changes)), stack="dev", resources=resources) == expected


def test_no_changes() -> None:
    base, _ = plans()
    text = diff_markdown(diff_plans(base, base), stack="prod")
    assert text == "### Offline plan diff: stack `prod`\n\n**0 added, 0 changed, 0 deleted**\n\n" + (
        "No resource is added, changed or deleted.\n"
    )


def test_retained_and_unprotected_deletions_pass_with_no_warning(tmp_path: Path) -> None:
    base, _ = plans()
    kept = [resource for resource in base.resources if not resource.protect and resource.type != ECR]
    head = replace(base, resources=[resource for resource in kept if resource.type not in (GITHUB_REPOSITORY, BRANCH)])
    result = run_diff(tmp_path, replace(base, resources=kept), head, "--format", "markdown", "--full")
    assert result.exit_code == 0, result.output
    assert "[!CAUTION]" not in result.stdout
    assert "⚠️" not in result.stdout
    assert "| deleted | `github:Repository` | `a-svc` | left in place (retainOnDelete) |" in result.stdout
    assert "| deleted | `github:Branch` | `a-svc-test` | left in place (retainOnDelete) |" in result.stdout


def test_text_stays_the_default_format(tmp_path: Path) -> None:
    result = run_diff(tmp_path, *plans())
    assert result.exit_code == 1
    assert "DELETES A DATA-HOLDING RESOURCE" in result.stdout
    assert "<details" not in result.stdout
    assert run_diff(tmp_path, *plans(), "--format", "html").exit_code == 2


def test_tenant_of_reads_labels_tags_and_the_component_tree() -> None:
    base, head = plans()
    resources = base.by_urn() | head.by_urn()
    by_name = {(resource.type, resource.name): resource for resource in resources.values()}
    assert tenant_of(by_name[(NAMESPACE, "a-dev")], resources) == "a"  # metadata.labels
    assert tenant_of(by_name[(ECR, "a/svc")], resources) == "a"  # tags
    assert tenant_of(by_name[(GITHUB_REPOSITORY, "a-svc")], resources) == "a"  # Service, then Tenant
    assert tenant_of(by_name[(TENANT_COMPONENT, "c")], resources) == "c"  # the Tenant component itself
    assert tenant_of(by_name[(AWS_PROVIDER, "aws")], resources) is None  # the platform's own
    assert tenant_of(PLATFORM_ROOT, resources) is None
    # A parent missing from both plans: its URN still says it is tenant `z`.
    orphan = res((*IN_TENANT, TEAM), "z", urn(IN_TENANT, "z"))
    assert tenant_of(orphan, {}) == "z"
    assert tenant_of(res((TEAM,), "x", urn((SERVICE_COMPONENT,), "x-svc")), {}) is None
    assert PLATFORM == "platform"


def test_type_and_urn_helpers() -> None:
    assert short_type(NAMESPACE) == "kubernetes:Namespace"
    assert short_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding") == "kubernetes:RoleBinding"
    assert short_type(ECR) == "aws:Repository"
    assert short_type(GITHUB_REPOSITORY) == "github:Repository"
    assert short_type(AWS_PROVIDER) == "provider:aws"
    assert short_type("imaas:tenant:Environment") == "imaas:Environment"
    assert urn_type_and_name(urn(IN_TENANT, "payments")) == (TENANT_COMPONENT, "payments")
    assert urn_type_and_name("not a urn") == ("", "")


def test_cells_cannot_break_the_table() -> None:
    odd = res((GITHUB_REPOSITORY,), "a|b`c", None, {"description": "x|y"})
    changed = replace(odd, inputs={"description": "x|z"})
    text = diff_markdown(diff_plans(Plan("imaas", "dev", [odd]), Plan("imaas", "dev", [changed])))
    assert '| changed | `github:Repository` | `` a\\|b`c `` | `~ description: "x\\|y" -> "x\\|z"` |' in text


def test_a_value_with_backticks_stays_inside_its_code_span() -> None:
    """A tenant file's text (here a repository description holding two backticks, and one at its end) reaches the
    comment as one code span, whatever runs of backticks it holds: rendered by a CommonMark parser with GFM tables."""
    from markdown_it import MarkdownIt

    description = "Syncs ``orders`` **now** <b>x</b> `"
    before = res((*IN_SERVICE, GITHUB_REPOSITORY), "a-svc", SERVICE_A.urn, {"description": "Syncs orders"})
    after = replace(before, inputs={"description": description})
    base = Plan("imaas", "dev", [PLATFORM_ROOT, TENANT_A, SERVICE_A, before])
    head = Plan("imaas", "dev", [PLATFORM_ROOT, TENANT_A, SERVICE_A, after])
    text = diff_markdown(diff_plans(base, head), stack="dev", resources=base.by_urn() | head.by_urn())

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    spans = [child for token in tokens if token.children for child in token.children if child.type == "code_inline"]
    assert f'~ description: "Syncs orders" -> "{description}"' in [span.content for span in spans]
    # Nothing of the value became markup: no bold, no HTML.
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "<strong>now</strong>" not in rendered and "<b>x</b>" not in rendered
