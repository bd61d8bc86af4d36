"""The template's versions and the sync, against local bare repositories that play the template and service
repositories on GitHub, and a fake pull-request API that keeps `refs/pull/<n>/head` as GitHub does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import PROJECT_DIR, TEMPLATE_DIR, git, write_tenant

from imaas.inputs.template_source import template_version
from imaas.template.git import FolderHosting, Workspace
from imaas.template.pulls import PullRequest
from imaas.template.sync import SYNC_PREFIX, status_of, sync_service
from imaas.template.versions import RECORD_PREFIX, Template, TemplateError

TEMPLATE = "imaas-service-template"
DOCKERFILE = "FROM wso2/wso2mi:4.4.0\nUSER 802\nEXPOSE 8290\n"
README = "# Service\n\nWhat it does.\n\n## Build\n\ndocker build .\n"


@dataclass
class FakePulls:
    """GitHub's pull requests of local repositories: a pull request's head is kept as refs/pull/<n>/head."""

    root: Path
    requests: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    opened: int = 0

    def _bare(self, repository: str) -> Path:
        return self.root / f"{repository}.git"

    def _head(self, repository: str, branch: str) -> str:
        return git(self._bare(repository), "rev-parse", f"refs/heads/{branch}")

    def of(self, repository: str, prefix: str) -> list[PullRequest]:
        found = []
        for item in reversed(self.requests.get(repository, [])):
            if str(item["branch"]).startswith(prefix):
                if item["state"] == "open":
                    item["head"] = self._head(repository, str(item["branch"]))
                    git(self._bare(repository), "update-ref", f"refs/pull/{item['number']}/head", str(item["head"]))
                found.append(PullRequest(item["number"], item["branch"], item["state"], item["head"]))  # type: ignore[arg-type]
        return found

    def open(self, repository: str, branch: str, title: str, body: str) -> PullRequest:
        self.opened += 1
        items = self.requests.setdefault(repository, [])
        head = self._head(repository, branch)
        item = {"number": len(items) + 1, "branch": branch, "state": "open", "head": head, "title": title, "body": body}
        items.append(item)
        git(self._bare(repository), "update-ref", f"refs/pull/{item['number']}/head", head)
        return PullRequest(item["number"], branch, "open", head)  # type: ignore[arg-type]

    def update(self, repository: str, number: int, title: str, body: str) -> None:
        self.requests[repository][number - 1].update(title=title, body=body)

    def only(self, repository: str) -> dict[str, object]:
        (item,) = self.requests[repository]
        return item

    def merge(self, repository: str, number: int, work: Path) -> None:
        """What a merge on GitHub does: dev gets a merge commit, the branch is deleted, refs/pull/<n>/head stays."""
        item = self.requests[repository][number - 1]
        clone = checkout(self.root, repository, work)
        git(clone, "fetch", "-q", "origin", str(item["branch"]))
        git(clone, "merge", "-q", "--no-ff", "-m", "Merge the template sync", "FETCH_HEAD")
        git(clone, "push", "-q", "origin", "dev", f":refs/heads/{item['branch']}")
        item["state"] = "merged"


def checkout(root: Path, repository: str, work: Path) -> Path:
    clone = work / f"{repository}-{len(list(work.iterdir())) if work.exists() else 0}"
    subprocess.run(["git", "clone", "-q", "-b", "dev", (root / f"{repository}.git").as_uri(), str(clone)], check=True)
    git(clone, "config", "user.email", "dev@example.com")
    git(clone, "config", "user.name", "A developer")
    return clone


def edit(root: Path, repository: str, work: Path, files: dict[str, str], branch: str = "dev") -> str:
    """A team's commit on `branch` of its repository; returns the new head."""
    clone = checkout(root, repository, work)
    if branch != "dev":
        git(clone, "fetch", "-q", "origin", branch)
        git(clone, "checkout", "-q", "-B", branch, "FETCH_HEAD")
    for path, text in files.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "A team's change")
    git(clone, "push", "-q", "origin", branch)
    return git(clone, "rev-parse", "HEAD")


class World:
    """The template repository (as Pulumi creates it: one initial commit on dev) and the service repositories."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "github"
        self.work = tmp / "work"
        self.folder = tmp / "template"
        self.root.mkdir()
        self.work.mkdir()
        self.pulls = FakePulls(self.root)
        self.bare(TEMPLATE)
        clone = self.work / "seed"
        subprocess.run(["git", "clone", "-q", (self.root / f"{TEMPLATE}.git").as_uri(), str(clone)], check=True)
        (clone / "README.md").write_text("# imaas-service-template\n")
        git(clone, "-c", "user.name=GitHub", "-c", "user.email=gh@example.com", "add", "-A")
        git(clone, "-c", "user.name=GitHub", "-c", "user.email=gh@example.com", "commit", "-q", "-m", "Initial commit")
        git(clone, "push", "-q", "origin", "HEAD:dev")
        self.write_template({"README.md": README, "Dockerfile": DOCKERFILE, "deploy/app.yaml": "replicas: 1\n"})
        self.count = 0

    def bare(self, repository: str) -> Path:
        path = self.root / f"{repository}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "dev", str(path)], check=True)
        return path

    def write_template(self, files: dict[str, str]) -> None:
        for path, text in files.items():
            (self.folder / path).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / path).write_text(text)

    def template(self) -> Template:
        self.count += 1
        return Template(Workspace(self.work / f"ws-{self.count}.git", FolderHosting(self.root)), TEMPLATE)

    def publish(self) -> str:
        version, _ = self.template().publish(self.folder)
        return version.commit

    def generate(self, repository: str) -> None:
        """What GitHub does: a new repository whose only commit holds the template's dev tree."""
        self.bare(repository)
        clone = self.work / f"gen-{repository}"
        subprocess.run(["git", "clone", "-q", "-b", "dev", (self.root / f"{TEMPLATE}.git").as_uri(), str(clone)])
        tree = git(clone, "rev-parse", "HEAD^{tree}")
        root = git(
            clone,
            "-c",
            "user.name=GitHub",
            "-c",
            "user.email=gh@example.com",
            "commit-tree",
            tree,
            "-m",
            "Initial commit",
        )
        git(clone, "push", "-q", (self.root / f"{repository}.git").as_uri(), f"{root}:refs/heads/dev")

    def sync(self, repository: str):
        return sync_service(self.template(), repository, self.pulls)

    def show(self, repository: str, ref: str, path: str) -> str:
        return git(self.root / f"{repository}.git", "show", f"{ref}:{path}")

    def branches(self, repository: str) -> dict[str, str]:
        lines = git(self.root / f"{repository}.git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
        return dict(line.split() for line in lines.splitlines())


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.mark.slow
def test_a_version_is_the_tree_git_stores_for_the_template(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    shutil.copytree(TEMPLATE_DIR, folder)
    (folder / "bin").mkdir()
    (folder / "bin" / "run.sh").write_text("#!/bin/sh\n")
    (folder / "bin" / "run.sh").chmod(0o755)
    (folder / "a-b").write_text("sorted before a/ in git, after it by name\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A", "t")
    assert template_version(folder) == git(tmp_path, "write-tree", "--prefix=t/")


@pytest.mark.slow
def test_each_version_is_one_tagged_commit_and_publishing_again_adds_nothing(world: World) -> None:
    first = world.publish()
    world.write_template({"Dockerfile": DOCKERFILE.replace("4.4.0", "4.5.0"), "deploy/pdb.yaml": "minAvailable: 1\n"})
    second = world.publish()
    again, new = world.template().publish(world.folder)
    assert not new and again.commit == second
    template = world.template()
    assert [version.number for version in template.versions] == [1, 2]
    assert [version.commit for version in template.versions] == [first, second]
    # The initial commit, then exactly one commit per version, each holding the whole template.
    assert len(template.history) == 3
    assert template.versions[1].id == template_version(world.folder)
    tags = git(world.root / f"{TEMPLATE}.git", "tag", "--list")
    assert tags.splitlines() == [v.tag for v in template.versions]


@pytest.mark.slow
def test_publishing_refuses_another_version_than_the_plan_recorded(world: World) -> None:
    with pytest.raises(TemplateError, match="not 000000000000 as the plan says"):
        world.template().publish(world.folder, expected="0" * 40)


@pytest.mark.slow
def test_a_service_behind_gets_one_pull_request_merged_cleanly_and_a_rerun_opens_nothing(world: World) -> None:
    world.publish()
    world.generate("orders-sync")
    edit(world.root, "orders-sync", world.work, {"README.md": README.replace("What it does.", "Syncs orders.")})
    world.write_template({"Dockerfile": DOCKERFILE.replace("4.4.0", "4.5.0"), "deploy/pdb.yaml": "minAvailable: 1\n"})
    world.publish()
    assert status_of(world.template(), "orders-sync").behind == 1
    result = world.sync("orders-sync")
    assert result.action == "opened pull request #1" and result.conflicts == []
    pull = world.pulls.only("orders-sync")
    branch = str(pull["branch"])
    assert branch.startswith(SYNC_PREFIX) and "Conflicts" not in str(pull["body"])
    # Both sides' edits, merged.
    assert "Syncs orders." in world.show("orders-sync", branch, "README.md")
    assert "4.5.0" in world.show("orders-sync", branch, "Dockerfile")
    assert world.show("orders-sync", branch, "deploy/pdb.yaml") == "minAvailable: 1"
    # The sync is a commit on top of dev: a fast-forward for the pull request, nothing rewritten.
    parents = git(world.root / "orders-sync.git", "rev-list", "--parents", "-n1", branch).split()
    assert parents[1] == world.branches("orders-sync")["refs/heads/dev"]
    before = world.branches("orders-sync")
    again = world.sync("orders-sync")
    assert again.action == "pull request #1 is up to date"
    assert world.pulls.opened == 1 and world.branches("orders-sync") == before


@pytest.mark.slow
def test_conflicting_edits_are_committed_with_markers_and_listed(world: World) -> None:
    world.publish()
    world.generate("orders-sync")
    edit(world.root, "orders-sync", world.work, {"Dockerfile": DOCKERFILE.replace("EXPOSE 8290", "EXPOSE 8291")})
    world.write_template({"Dockerfile": DOCKERFILE.replace("EXPOSE 8290", "EXPOSE 8290 9201")})
    world.publish()
    result = world.sync("orders-sync")
    assert result.conflicts == ["Dockerfile"]
    pull = world.pulls.only("orders-sync")
    assert "- `Dockerfile`" in str(pull["body"]) and "(conflicts)" in str(pull["title"])
    text = world.show("orders-sync", str(pull["branch"]), "Dockerfile")
    assert "<<<<<<< dev\nEXPOSE 8291\n=======\nEXPOSE 8290 9201\n>>>>>>> template-2-" in text


@pytest.mark.slow
def test_a_current_service_gets_nothing(world: World) -> None:
    world.publish()
    world.generate("hr-export")
    result = world.sync("hr-export")
    assert result.state == "current" and result.pull_request is None and world.pulls.opened == 0
    assert set(world.branches("hr-export")) == {"refs/heads/dev"}


@pytest.mark.slow
def test_a_service_created_from_an_older_version_is_merged_from_that_version(world: World) -> None:
    world.publish()
    world.generate("pay-gw")
    world.write_template({"deploy/app.yaml": "replicas: 2\n"})
    world.publish()
    world.write_template({"Dockerfile": DOCKERFILE.replace("4.4.0", "4.5.0")})
    world.publish()
    status = status_of(world.template(), "pay-gw")
    assert (status.state, status.behind, status.version.number, status.recorded) == ("behind", 2, 1, False)
    result = world.sync("pay-gw")
    branch = str(world.pulls.only("pay-gw")["branch"])
    assert result.conflicts == [] and branch.startswith(f"{SYNC_PREFIX}3-")
    assert world.show("pay-gw", branch, "deploy/app.yaml") == "replicas: 2"
    assert "4.5.0" in world.show("pay-gw", branch, "Dockerfile")


@pytest.mark.slow
def test_a_merged_pull_request_moves_the_record_and_the_team_cannot_rewrite_it(world: World) -> None:
    world.publish()
    world.generate("orders-sync")
    world.write_template({"deploy/app.yaml": "replicas: 2\n"})
    newest = world.publish()
    world.sync("orders-sync")
    # The first sight recorded the version the service was created from, in the template repository.
    records = git(world.root / f"{TEMPLATE}.git", "for-each-ref", "--format=%(refname)", RECORD_PREFIX)
    assert records == f"{RECORD_PREFIX}orders-sync"
    world.pulls.merge("orders-sync", 1, world.work)
    after = world.sync("orders-sync")
    assert (after.state, after.on, after.recorded) == ("current", newest, True)
    assert git(world.root / f"{TEMPLATE}.git", "rev-parse", f"{RECORD_PREFIX}orders-sync") == newest
    # A team that rewrites its dev to look generated from a newer version changes nothing: the record stands.
    world.write_template({"deploy/app.yaml": "replicas: 3\n"})
    world.publish()
    world.generate("orders-sync-copy")
    copy_root = git(world.root / "orders-sync-copy.git", "rev-parse", "dev")
    git(
        world.root / "orders-sync-copy.git",
        "push",
        "-q",
        "--force",
        (world.root / "orders-sync.git").as_uri(),
        f"{copy_root}:refs/heads/dev",
    )
    assert status_of(world.template(), "orders-sync").behind == 1


@pytest.mark.slow
def test_a_newer_version_updates_the_open_pull_request_on_top_of_the_teams_commits(world: World) -> None:
    world.publish()
    world.generate("orders-sync")
    edit(world.root, "orders-sync", world.work, {"Dockerfile": DOCKERFILE.replace("EXPOSE 8290", "EXPOSE 8291")})
    world.write_template({"Dockerfile": DOCKERFILE.replace("EXPOSE 8290", "EXPOSE 8290 9201")})
    world.publish()
    world.sync("orders-sync")
    branch = str(world.pulls.only("orders-sync")["branch"])
    resolved = edit(
        world.root,
        "orders-sync",
        world.work,
        {"Dockerfile": DOCKERFILE.replace("EXPOSE 8290", "EXPOSE 8291 9201")},
        branch,
    )
    world.write_template({"deploy/app.yaml": "replicas: 2\n"})
    world.publish()
    result = world.sync("orders-sync")
    assert result.action == "updated pull request #1" and result.conflicts == []
    assert world.pulls.opened == 1
    head = world.branches("orders-sync")[f"refs/heads/{branch}"]
    # The team's resolution is kept: the update is a child of it, and the new change is in.
    assert git(world.root / "orders-sync.git", "rev-parse", f"{head}^1") == resolved
    assert "EXPOSE 8291 9201" in world.show("orders-sync", branch, "Dockerfile")
    assert world.show("orders-sync", branch, "deploy/app.yaml") == "replicas: 2"
    assert world.pulls.only("orders-sync")["title"] == "Service template: update to version 3"


@pytest.mark.slow
def test_a_push_that_races_a_teams_commit_is_refused_not_forced(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.publish()
    world.generate("orders-sync")
    world.write_template({"deploy/app.yaml": "replicas: 2\n"})
    world.publish()
    world.sync("orders-sync")
    branch = str(world.pulls.only("orders-sync")["branch"])
    world.write_template({"deploy/app.yaml": "replicas: 3\n"})
    world.publish()
    merge = Workspace.merge
    pushed: list[str] = []

    def team_pushes_meanwhile(self: Workspace, *args: object, **kwargs: object):
        # Between the sync's fetch and its push, a team member pushes to the pull request's branch.
        pushed.append(edit(world.root, "orders-sync", world.work, {"NOTES.md": "mine\n"}, branch))
        return merge(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Workspace, "merge", team_pushes_meanwhile)
    result = world.sync("orders-sync")
    assert "not pushed" in result.problem
    assert world.branches("orders-sync")[f"refs/heads/{branch}"] == pushed[0]


@pytest.mark.slow
def test_status_command_reports_each_service_in_json(world: World, tmp_path: Path) -> None:
    world.publish()
    tenants = tmp_path / "tenants"
    write_tenant(tenants, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")
    world.generate("orders-order-sync")
    world.write_template({"deploy/app.yaml": "replicas: 2\n"})
    world.publish()
    world.generate("orders-order-events")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "imaas", "template", "status", "--json"),
            *("--tenants", str(tenants), "--repositories", str(world.root)),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["template"]["version"] == 2
    by_name = {service["repository"]: service for service in report["services"]}
    assert (by_name["orders-order-sync"]["state"], by_name["orders-order-sync"]["behind"]) == ("behind", 1)
    assert (by_name["orders-order-events"]["state"], by_name["orders-order-events"]["behind"]) == ("current", 0)
    plain = template_command("status", "--tenants", str(tenants), "--repositories", str(world.root))
    assert plain.stdout.splitlines()[1:] == [
        f"orders-order-events\tcurrent\ton 2 ({by_name['orders-order-events']['versionId'][:12]})",
        f"orders-order-sync\t1 behind\ton 1 ({by_name['orders-order-sync']['versionId'][:12]})",
    ]


def template_command(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imaas", "template", *arguments],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_status_tells_a_missing_repository_from_one_of_unknown_origin(world: World, tmp_path: Path) -> None:
    world.publish()
    tenants = tmp_path / "tenants"
    write_tenant(tenants, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")
    # order-events is not created yet (its first up is to come); order-sync was not generated from the template.
    hand = tmp_path / "hand"
    subprocess.run(["git", "init", "-q", "-b", "dev", str(hand)], check=True)
    (hand / "README.md").write_text("hand-made\n")
    git(hand, "add", "-A")
    git(hand, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "-m", "By hand")
    git(hand, "push", "-q", world.bare("orders-order-sync").as_uri(), "dev")
    done = template_command("status", "--json", "--tenants", str(tenants), "--repositories", str(world.root))
    assert done.returncode == 1, done.stderr
    states = {s["repository"]: s["state"] for s in json.loads(done.stdout)["services"]}
    assert states == {"orders-order-events": "missing", "orders-order-sync": "unknown"}


@pytest.mark.slow
def test_sync_needs_its_token(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "GITHUB_TOKEN"}
    done = template_command("sync", "--tenants", str(PROJECT_DIR / "tests" / "fixtures" / "tenants"), env=environment)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: GITHUB_TOKEN is not set: the sync pushes branches and opens pull requests with it"
    )


@pytest.mark.fast
def test_github_pull_requests_speak_the_rest_api(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import urllib.error
    import urllib.request

    from imaas.template.pulls import GitHubPullRequests, PullRequestError

    calls: list[urllib.request.Request] = []
    answers = [
        [
            {
                "number": 9,
                "state": "closed",
                "merged_at": "2026-01-01T00:00:00Z",
                "head": {"ref": f"{SYNC_PREFIX}2-abc", "sha": "b" * 40, "repo": {"full_name": "example-org/a-b"}},
            },
            {
                "number": 8,
                "state": "open",
                "merged_at": None,
                "head": {"ref": f"{SYNC_PREFIX}1-abc", "sha": "c" * 40, "repo": {"full_name": "someone/a-b"}},
            },
            {
                "number": 7,
                "state": "open",
                "merged_at": None,
                "head": {"ref": "feature", "sha": "d" * 40, "repo": {"full_name": "example-org/a-b"}},
            },
        ],
        {"number": 10, "head": {"sha": "e" * 40}},
    ]

    def urlopen(request: urllib.request.Request, timeout: int) -> io.BytesIO:
        calls.append(request)
        if not answers:
            raise urllib.error.HTTPError(request.full_url, 422, "Unprocessable Entity", {}, None)  # type: ignore[arg-type]
        return io.BytesIO(json.dumps(answers.pop(0)).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("GITHUB_TOKEN", "token-value")
    pulls = GitHubPullRequests("example-org")
    # Only the sync's own branches of the repository itself count: a fork's branch of the same name does not.
    assert pulls.of("a-b", SYNC_PREFIX) == [PullRequest(9, f"{SYNC_PREFIX}2-abc", "merged", "b" * 40)]
    assert pulls.open("a-b", f"{SYNC_PREFIX}3-abc", "title", "body") == PullRequest(
        10, f"{SYNC_PREFIX}3-abc", "open", "e" * 40
    )
    assert json.loads(calls[1].data) == {"title": "title", "head": f"{SYNC_PREFIX}3-abc", "base": "dev", "body": "body"}
    assert calls[1].get_header("Authorization") == "Bearer token-value"
    with pytest.raises(PullRequestError) as refused:
        pulls.update("a-b", 10, "t", "b")
    assert str(refused.value) == "PATCH /repos/example-org/a-b/pulls/10: 422 Unprocessable Entity"
    assert "token-value" not in str(refused.value)


def credential_answer(config: list[str], environment: dict[str, str]) -> str:
    """What git's credential helper of a hosting's `-c` settings answers for github.com, in `environment`."""
    helper = next(item for item in config if item.startswith("credential.https://github.com.helper="))
    command = helper.split("=", 1)[1].removeprefix("!")
    result = subprocess.run(
        ["sh", "-c", command + " get"], env=environment, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout


@pytest.mark.slow
def test_publishing_pushes_with_the_token_minted_for_it_and_the_sync_with_its_own() -> None:
    """`template publish` (run by `pulumi up`) reads IMAAS_TEMPLATE_TOKEN, the token the deploy workflow mints per
    run for the template repository; the GitHub provider's credentials (an App) or a GITHUB_TOKEN are not used."""
    from imaas.cli.template import _hosting
    from imaas.template.git import PUBLISH_TOKEN_VARIABLE

    environment = {"PATH": os.environ["PATH"], "IMAAS_TEMPLATE_TOKEN": "minted", "GITHUB_TOKEN": "other"}
    publishing = _hosting("example-org", None, PUBLISH_TOKEN_VARIABLE).config()
    assert credential_answer(publishing, environment) == "username=x-access-token\npassword=minted\n"
    assert "minted" not in " ".join(publishing), "the token is read when git asks, never written into a setting"
    syncing = _hosting("example-org", None).config()
    assert credential_answer(syncing, environment) == "username=x-access-token\npassword=other\n"
