"""Where each service stands against the template, and one pull request per service that is behind.

A service is on the version the platform recorded for it, or, before any record, the one it was created from: the
commit of the template whose tree its repository's first commit holds. A merged sync pull request moves the
record to the newest version its head holds. Only commits the sync makes itself are pushed, on branches of its own,
always as fast-forwards: a team's commits on a sync branch are kept and built upon, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from imaas.template.git import GitError
from imaas.template.pulls import PullRequest, PullRequests
from imaas.template.versions import BRANCH as BASE_BRANCH
from imaas.template.versions import Template, Version

SYNC_PREFIX = "imaas/template-sync/"
VERSION_TRAILER = "Imaas-Template-Version"
State = Literal["current", "behind", "unknown", "missing"]


@dataclass
class ServiceStatus:
    repository: str
    state: State
    on: str | None = None
    """The template commit the service is on."""
    version: Version | None = None
    recorded: bool = False
    """Whether `on` is the platform's record, not only derived from the repository's first commit."""
    behind: int = 0
    pull_request: PullRequest | None = None
    action: str = ""
    """What the sync did."""
    conflicts: list[str] = field(default_factory=list)
    problem: str = ""

    def as_json(self) -> dict[str, object]:
        pull = self.pull_request
        return {
            "repository": self.repository,
            "state": self.state,
            "templateCommit": self.on,
            "version": self.version.number if self.version else None,
            "versionId": self.version.id if self.version else None,
            "recorded": self.recorded,
            "behind": self.behind,
            "pullRequest": {"number": pull.number, "state": pull.state, "branch": pull.branch} if pull else None,
            **({"action": self.action} if self.action else {}),
            **({"conflicts": self.conflicts} if self.conflicts else {}),
            **({"problem": self.problem} if self.problem else {}),
        }


def _service_ref(repository: str, name: str) -> str:
    return f"refs/imaas-services/{repository}/{name}"


def status_of(template: Template, repository: str, pulls: PullRequests | None = None) -> ServiceStatus:
    """Where `repository` stands; with `pulls`, its sync pull requests are read too, and a merged one counts."""
    workspace = template.workspace
    try:
        workspace.fetch(
            repository,
            f"+refs/heads/{BASE_BRANCH}:{_service_ref(repository, 'dev')}",
            f"+refs/heads/{SYNC_PREFIX}*:{_service_ref(repository, 'sync/')}*",
        )
    except GitError as error:
        return ServiceStatus(repository, "missing", problem=str(error))
    dev = workspace.resolve(_service_ref(repository, "dev"))
    if dev is None:
        return ServiceStatus(repository, "missing", problem=f"no {BASE_BRANCH} branch")
    on, recorded = template.records.get(repository), True
    if on is None:
        on, recorded = template.created_from([workspace.tree(root) for root in workspace.roots(dev)]), False
    pull = None
    if pulls is not None:
        requests = pulls.of(repository, SYNC_PREFIX)
        pull = next((request for request in requests if request.state == "open"), requests[0] if requests else None)
        merged = next((request for request in requests if request.state == "merged"), None)
        if merged is not None:
            reached = _reached_by(template, repository, merged)
            if reached is not None and (on is None or template.history.index(reached) > template.history.index(on)):
                on, recorded = reached, False
    if on is None:
        return ServiceStatus(repository, "unknown", problem="no template version matches its first commit")
    behind = template.behind(on)
    return ServiceStatus(
        repository,
        "current" if behind == 0 else "behind",
        on=on,
        version=template.version_of(on),
        recorded=recorded,
        behind=behind,
        pull_request=pull,
    )


def _reached_by(template: Template, repository: str, pull: PullRequest) -> str | None:
    # GitHub keeps a pull request's head as refs/pull/<n>/head after its branch is deleted on merge.
    local = _service_ref(repository, f"pull/{pull.number}")
    template.workspace.fetch(repository, f"+refs/pull/{pull.number}/head:{local}")
    head = template.workspace.resolve(local)
    return template.newest_within(head) if head else None


def sync_service(template: Template, repository: str, pulls: PullRequests) -> ServiceStatus:
    """Record where the service is, and open or update its sync pull request if it is behind."""
    status = status_of(template, repository, pulls)
    newest = template.newest
    if status.on is None or newest is None:
        return status
    if not status.recorded:
        # From now on the record, which the team cannot write, says where the service is: not its own history.
        template.record(repository, status.on)
        status.recorded = True
    if status.state == "current":
        return status
    workspace = template.workspace
    pull = status.pull_request
    if pull is not None and pull.state == "open":
        head = workspace.resolve(_service_ref(repository, f"sync/{pull.branch.removeprefix(SYNC_PREFIX)}"))
        holds = template.newest_within(head) if head else None
        if head is None or holds is None:
            status.problem = f"pull request #{pull.number}: its branch {pull.branch} holds no template version"
            return status
        if holds == newest.commit:
            status.action = f"pull request #{pull.number} is up to date"
            return status
        # On top of the branch as it is, the team's conflict resolutions included: a fast-forward.
        return _propose(template, status, base=holds, ours=head, branch=pull.branch, pulls=pulls, update=pull)
    branch = f"{SYNC_PREFIX}{newest.number}-{newest.id[:12]}"
    if pull is not None and pull.branch == branch and pull.state == "closed":  # declined
        status.action = f"pull request #{pull.number} for version {newest.number} was closed unmerged: not reopened"
        return status
    dev = workspace.resolve(_service_ref(repository, "dev"))
    assert dev is not None
    return _propose(template, status, base=status.on, ours=dev, branch=branch, pulls=pulls, update=None)


def _propose(
    template: Template,
    status: ServiceStatus,
    *,
    base: str,
    ours: str,
    branch: str,
    pulls: PullRequests,
    update: PullRequest | None,
) -> ServiceStatus:
    workspace = template.workspace
    newest = template.newest
    assert newest is not None
    merge = workspace.merge(workspace.tree(base), workspace.tree(ours), newest.id, ("dev", newest.tag))
    if not merge.conflicts and merge.tree == workspace.tree(ours) and update is None:
        # The service already holds every change of the template since its version.
        template.record(status.repository, newest.commit)
        status.state, status.behind, status.on, status.version = "current", 0, newest.commit, newest
        status.action = "already holds the template's changes: recorded as current"
        return status
    from_version = template.version_of(base)
    message = (
        f"Sync the service template to version {newest.number}\n\n"
        f"From {from_version.short if from_version else base[:12]}; conflicted files: "
        f"{', '.join(merge.conflicts) or 'none'}.\n\n{VERSION_TRAILER}: {newest.id}\n"
    )
    # The template's commit as second parent: the branch then holds that version, which is how a merged pull
    # request moves the record, and git can see what the template already brought.
    commit = workspace.commit(merge.tree, message, ours, newest.commit)
    try:
        workspace.push(status.repository, f"{commit}:refs/heads/{branch}")
    except GitError as error:
        status.problem = f"{branch}: not pushed (someone pushed to it meanwhile?): {error}"
        return status
    title = f"Service template: update to version {newest.number}" + (" (conflicts)" if merge.conflicts else "")
    body = pull_request_body(status, newest, merge.conflicts)
    if update is not None:
        pulls.update(status.repository, update.number, title, body)
        status.pull_request = PullRequest(update.number, branch, "open", commit)
        status.action = f"updated pull request #{update.number}"
    else:
        status.pull_request = pulls.open(status.repository, branch, title, body)
        status.action = f"opened pull request #{status.pull_request.number}"
    status.conflicts = merge.conflicts
    return status


def pull_request_body(status: ServiceStatus, newest: Version, conflicts: list[str]) -> str:
    on = status.version.short if status.version else (status.on or "")[:12]
    lines = [
        f"The platform's service template moved on: this service is on version {on}, {status.behind} version"
        f"{'s' * (status.behind != 1)} behind version {newest.short}.",
        "",
        "The template's changes since then are merged three-way with this repository's own edits. Merge this into "
        "`dev` as any change; the usual dev → test → prod merges promote it.",
    ]
    if conflicts:
        lines += [
            "",
            "**Conflicts**: these files are committed with conflict markers (`<<<<<<< dev` is this repository's "
            f"side, `>>>>>>> {newest.tag}` the template's). Resolve them on this branch before merging:",
            "",
            *(f"- `{path}`" for path in conflicts),
        ]
    lines += ["", "Opened by `imaas template sync`; it adds later template versions to this pull request."]
    return "\n".join(lines)
