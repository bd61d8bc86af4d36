"""The template repository as a list of versions: each is one commit of its `dev` branch, tagged
`template-<n>-<id>`, whose tree is exactly the content of `templates/service` at that version (its id). Beside the
versions the repository holds the platform's record of the version each service is on, as refs
`refs/imaas/services/<repository>` that only the platform writes: a tenant administers its own repositories, never
the template's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imaas.inputs.template_source import template_version
from imaas.template.git import GitError, Workspace

BRANCH = "dev"
TAG_PREFIX = "template-"
RECORD_PREFIX = "refs/imaas/services/"
_LOCAL = "refs/imaas-template/"


class TemplateError(Exception):
    """The template cannot be published or read as asked."""


@dataclass(frozen=True)
class Version:
    number: int
    commit: str
    id: str
    """The tree id of its content."""

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.number}-{self.id[:12]}"

    @property
    def short(self) -> str:
        return f"{self.number} ({self.id[:12]})"


class Template:
    """What the template repository holds, fetched into `workspace`."""

    def __init__(self, workspace: Workspace, repository: str) -> None:
        self.workspace = workspace
        self.repository = repository
        workspace.fetch(
            repository,
            f"+refs/heads/{BRANCH}:{_LOCAL}dev",
            f"+refs/tags/{TAG_PREFIX}*:{_LOCAL}tags/{TAG_PREFIX}*",
            f"+{RECORD_PREFIX}*:{_LOCAL}records/*",
        )
        self.head = workspace.resolve(f"{_LOCAL}dev")
        history = workspace.first_parent_history(self.head) if self.head else []
        tagged = {commit: name for name, commit in workspace.refs(f"{_LOCAL}tags/").items()}
        self.history = [commit for commit, _ in history]
        """Every commit of dev, oldest first: versions, and what came before versions were published."""
        self.trees = dict(history)
        self.versions = [
            Version(int(tagged[commit].removeprefix(TAG_PREFIX).split("-", 1)[0]), commit, tree)
            for commit, tree in history
            if commit in tagged
        ]
        self.records = workspace.refs(f"{_LOCAL}records/")

    @property
    def newest(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    def behind(self, commit: str) -> int:
        """How many versions came after `commit`, a commit of dev."""
        position = self.history.index(commit)
        return sum(1 for version in self.versions if self.history.index(version.commit) > position)

    def version_of(self, commit: str) -> Version | None:
        return next((version for version in self.versions if version.commit == commit), None)

    def newest_within(self, head: str) -> str | None:
        """The newest commit of dev that `head` descends from (a sync commit's second parent is one)."""
        ancestors = self.workspace.ancestors(head)
        return next((commit for commit in reversed(self.history) if commit in ancestors), None)

    def created_from(self, trees: list[str]) -> str | None:
        """The newest commit of dev with one of `trees`: GitHub generates a repository as one commit holding
        exactly the template's tree of that moment."""
        return next((commit for commit in reversed(self.history) if self.trees[commit] in trees), None)

    def record(self, service_repository: str, commit: str) -> None:
        """Write the platform's record that `service_repository` is on `commit`; a fast-forward only."""
        self.workspace.push(self.repository, f"{commit}:{RECORD_PREFIX}{service_repository}")
        self.records[service_repository] = commit

    def publish(self, folder: Path, expected: str | None = None) -> tuple[Version, bool]:
        """Publish `folder` as the newest version unless it is already: one commit on dev with exactly its files,
        and its tag, pushed together. Returns the version and whether it is new."""
        tree = self.workspace.write_tree(folder)
        if tree != template_version(folder):
            raise TemplateError(f"{folder}: git stores it as {tree}, not as the version the program computes")
        if expected is not None and tree != expected:
            raise TemplateError(f"{folder} is version {tree[:12]}, not {expected[:12]} as the plan says")
        newest = self.newest
        if newest is not None and newest.id == tree and newest.commit == self.head:
            return newest, False
        number = max((version.number for version in self.versions), default=0) + 1
        if self.head is not None and self.trees[self.head] == tree and self.version_of(self.head) is None:
            commit = self.head  # content committed before versions were published: tag it as it is
        else:
            message = f"IMaaS service template, version {number}\n\nImaas-Template-Version: {tree}\n"
            commit = self.workspace.commit(tree, message, *([self.head] if self.head else []))
        version = Version(number, commit, tree)
        try:
            self.workspace.push(
                self.repository, f"{commit}:refs/heads/{BRANCH}", f"{commit}:refs/tags/{version.tag}", atomic=True
            )
        except GitError as error:
            raise TemplateError(f"{self.repository}: publishing version {version.short} failed: {error}") from None
        return version, True
