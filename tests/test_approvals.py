"""The tenant ownership check: a change to a tenant's file needs one of that tenant's maintainers at the base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imaas import cli
from imaas.ci import approvals
from imaas.ci.approvals import Need, Review, approvers, read_reviews, requirements, verdicts
from imaas.inputs.problems import UsageError

pytestmark = pytest.mark.fast

HEAD = "a" * 40
OLDER = "b" * 40


def tenant_text(name: str, maintainers: list[str], *, size: str = "small", allow_from: str = "[]") -> str:
    return (
        "apiVersion: imaas.io/v1alpha1\nkind: Tenant\n"
        f"metadata:\n  name: {name}\n  contact: {name}@example.com\n"
        f"spec:\n  team:\n    maintainers: [{', '.join(maintainers)}]\n  size: {size}\n"
        f"  network:\n    allowFrom: {allow_from}\n"
    )


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    base, head = tmp_path / "base", tmp_path / "head"
    for folder in (base, head):
        folder.mkdir()
        (folder / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob"]), encoding="utf-8")
        (folder / "solo.yaml").write_text(tenant_text("solo", ["sam"]), encoding="utf-8")
    return base, head


def review(login: str, state: str = "APPROVED", commit: str = HEAD) -> Review:
    return Review(login, state, commit)


def test_unchanged_files_and_comment_only_changes_need_nobody(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").write_text("# a comment\n" + tenant_text("pay", ["alice", "bob"]), encoding="utf-8")
    assert requirements(base, head, "mallory") == []


def test_a_file_the_pull_request_leaves_as_it_was_is_not_parsed(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Among a thousand tenant files, only the changed ones are read as YAML."""
    base, head = folders
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "carol"]), encoding="utf-8")
    loaded: list[str] = []
    load = approvals._load
    monkeypatch.setattr(approvals, "_load", lambda path: loaded.append(path.name) or load(path))
    (found,) = requirements(base, head, "alice")
    assert found.file == "pay.yaml" and sorted(loaded) == ["pay.yaml", "pay.yaml"]


def test_a_change_needs_a_maintainer_of_the_base_other_than_the_author(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob"], allow_from="[solo]"), encoding="utf-8")
    (found,) = requirements(base, head, "alice")
    assert (found.file, found.tenant, found.need, found.fields) == (
        "pay.yaml",
        "pay",
        Need.maintainer,
        ("spec.network",),
    )
    assert found.maintainers == ("bob",), "the author's own approval never counts"
    assert not verdicts([found], approvers([review("alice")], HEAD))[0].satisfied
    assert verdicts([found], approvers([review("Bob")], HEAD))[0].approved_by == ("bob",), "logins ignore case"


def test_maintainers_come_from_the_base_not_from_the_pull_request(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob", "mallory"]), encoding="utf-8")
    (found,) = requirements(base, head, "mallory")
    assert found.fields == ("spec.team",)
    assert found.maintainers == ("alice", "bob")
    assert not verdicts([found], approvers([review("mallory")], HEAD))[0].satisfied


def test_another_tenants_file_cannot_be_changed_with_the_platform_admins_alone(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "solo.yaml").write_text(tenant_text("solo", ["sam"], allow_from="[pay]"), encoding="utf-8")
    (found,) = requirements(base, head, "alice")
    assert found.need is Need.maintainer
    assert found.maintainers == ("sam",)


def test_the_only_maintainer_as_author_leaves_it_to_the_platform_admins(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "solo.yaml").write_text(tenant_text("solo", ["sam", "tina"]), encoding="utf-8")
    (found,) = requirements(base, head, "Sam")
    assert found.need is Need.platform
    assert "only maintainer at the base is the author" in found.reason
    assert verdicts([found], set())[0].satisfied


def test_a_new_tenant_and_the_platforms_fields_need_the_platform_admins_only(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "new.yaml").write_text(tenant_text("new", ["nina"]), encoding="utf-8")
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob"], size="large"), encoding="utf-8")
    new, pay = requirements(base, head, "root")
    assert (new.file, new.need) == ("new.yaml", Need.platform)
    assert (pay.file, pay.need, pay.fields) == ("pay.yaml", Need.platform, ("spec.size",))


def test_a_platform_field_with_another_field_needs_the_tenant(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice"], size="large"), encoding="utf-8")
    (found,) = requirements(base, head, "root")
    assert (found.need, found.fields) == (Need.maintainer, ("spec.size", "spec.team"))


def test_a_deleted_or_broken_file_needs_its_maintainers(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").unlink()
    (head / "solo.yaml").write_text("spec: [unclosed\n", encoding="utf-8")
    pay, solo = requirements(base, head, "root")
    assert (pay.reason, pay.fields, pay.maintainers) == ("deleted", ("(the whole file)",), ("alice", "bob"))
    assert (solo.fields, solo.maintainers) == (("(the whole file)",), ("sam",))


def test_only_the_latest_verdict_on_the_head_commit_counts() -> None:
    reviews = [
        review("alice"),
        review("alice", "CHANGES_REQUESTED"),
        review("bob"),
        review("bob", "COMMENTED"),  # a comment leaves the approval standing
        review("carol", commit=OLDER),  # commits were pushed after it
        review("dave"),
        review("dave", "DISMISSED"),
    ]
    assert approvers(reviews, HEAD) == {"bob"}


def test_reviews_are_read_as_the_api_and_gh_paginate_print_them() -> None:
    page = [{"user": {"login": "alice"}, "state": "APPROVED", "commit_id": HEAD}]
    assert read_reviews(json.dumps(page) + json.dumps(page)) == [review("alice"), review("alice")]
    assert read_reviews(json.dumps(page[0]) + "\n" + json.dumps(page[0]) + "\n") == [review("alice")] * 2
    assert read_reviews("") == []
    for bad in ("{not json", '[{"state": "APPROVED"}]'):
        with pytest.raises(UsageError):
            read_reviews(bad)


def test_the_command_names_the_file_the_tenant_and_who_may_approve(folders: tuple[Path, Path]) -> None:
    base, head = folders
    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob"], allow_from="[solo]"), encoding="utf-8")
    reviews = base.parent / "reviews.json"
    reviews.write_text(json.dumps([{"user": {"login": "bob"}, "state": "APPROVED", "commit_id": OLDER}]))
    arguments = ["approvals", "--base-tenants", str(base), "--head-tenants", str(head), "--author", "alice"]
    arguments += ["--reviews", str(reviews), "--head-sha", HEAD]
    result = CliRunner().invoke(cli.app, [*arguments, "--format", "github"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("::error file=tenants/pay.yaml,title=Tenant ownership::tenants/pay.yaml: ")
    assert "tenant 'pay'" in result.stdout and "listed at the base: bob" in result.stdout
    reviews.write_text(json.dumps([{"user": {"login": "bob"}, "state": "APPROVED", "commit_id": HEAD}]))
    result = CliRunner().invoke(cli.app, arguments)
    assert result.exit_code == 0, result.output
    assert "approved by maintainer bob" in result.stdout
    missing = CliRunner().invoke(cli.app, [*arguments[:-4], "--reviews", str(base / "none.json"), "--head-sha", HEAD])
    assert missing.exit_code == 2


def test_what_a_pull_request_wrote_prints_inertly_in_annotations(folders: tuple[Path, Path]) -> None:
    """A key of the pull request's file holding a line break and a percent sign, and a file name holding a line
    break: no output line is a workflow command they wrote, and `%` cannot be read back as an escape."""
    base, head = folders
    text = tenant_text("pay", ["alice", "bob"]) + '"x\\n::error file=README.md::forged 100%0A": 1\n'
    (head / "pay.yaml").write_text(text, encoding="utf-8")
    reviews = base.parent / "reviews.json"
    reviews.write_text("[]")
    arguments = ["approvals", "--base-tenants", str(base), "--head-tenants", str(head), "--author", "alice"]
    arguments += ["--reviews", str(reviews), "--head-sha", HEAD, "--format", "github"]

    result = CliRunner().invoke(cli.app, arguments)
    assert result.exit_code == 1, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("::error file=tenants/pay.yaml,title=Tenant ownership::tenants/pay.yaml: ")
    assert "(x\\n::error file=README.md::forged 100%250A)" in line

    (head / "pay.yaml").write_text(tenant_text("pay", ["alice", "bob"]), encoding="utf-8")
    (head / "x\n::error file=README.md::forged.yaml").write_text(tenant_text("x", ["mallory"]), encoding="utf-8")
    result = CliRunner().invoke(cli.app, arguments)
    assert result.exit_code == 2
    assert not any(line.startswith("::") for line in result.output.splitlines())
    assert "'x\\n::error file=README.md::forged.yaml' is not a tenant file name" in result.output
