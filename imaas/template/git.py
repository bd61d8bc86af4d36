"""The git work of publishing and syncing the template, behind a small interface: a `Hosting` says where each
repository is and how to authenticate, and one local bare `Workspace` fetches from them all, merges and pushes.
GitHub is one hosting; the tests use another, a folder of local bare repositories."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

TOKEN_VARIABLE = "GITHUB_TOKEN"
# What `template publish` pushes with, run by `pulumi up`: a token minted for that run, for the template repository
# alone, which nothing else of the run sees (the GitHub provider signs in as the platform's App on its own).
PUBLISH_TOKEN_VARIABLE = "IMAAS_TEMPLATE_TOKEN"


def github_credentials(variable: str = TOKEN_VARIABLE) -> str:
    """A git credential helper that answers with the token in `variable`. The token is read from the environment
    when git asks for it: it is in no command line, URL, remote configuration or log line."""
    return f'!f() {{ echo username=x-access-token; echo "password=${{{variable}}}"; }}; f'


GITHUB_CREDENTIALS = github_credentials()
AUTHOR = ("IMaaS platform", "imaas-platform@users.noreply.github.com")


class GitError(Exception):
    """A git command failed; the message is git's own last lines."""


class Hosting(Protocol):
    def url(self, repository: str) -> str:
        """Where git fetches and pushes `repository`."""
        ...

    def config(self) -> list[str]:
        """`-c` settings every git command needs for this hosting (credentials)."""
        ...


@dataclass(frozen=True)
class GitHubHosting:
    owner: str
    token_variable: str = TOKEN_VARIABLE

    def url(self, repository: str) -> str:
        return f"https://github.com/{self.owner}/{repository}.git"

    def config(self) -> list[str]:
        helper = github_credentials(self.token_variable)
        return ["-c", "credential.helper=", "-c", f"credential.https://github.com.helper={helper}"]


@dataclass(frozen=True)
class FolderHosting:
    """Repositories as `<root>/<repository>.git`."""

    root: Path

    def url(self, repository: str) -> str:
        return (self.root / f"{repository}.git").as_uri()

    def config(self) -> list[str]:
        return []


@dataclass(frozen=True)
class Merge:
    tree: str
    conflicts: list[str]
    """Files left with conflict markers, sorted."""


class Workspace:
    """A local bare repository holding what was fetched from every repository, each under refs of its own."""

    def __init__(self, directory: Path, hosting: Hosting) -> None:
        self.directory = directory
        self.hosting = hosting
        self.run("init", "--quiet", "--bare", str(directory), cwd=directory.parent)

    def run(
        self, *args: str, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None
    ) -> str:
        name, email = AUTHOR
        environment = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", name),
            "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", email),
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", name),
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", email),
            **(env or {}),
        }
        command = ["git", *self.hosting.config(), *args]
        where = cwd or self.directory
        done = subprocess.run(
            command, cwd=where, env=environment, input=input, capture_output=True, text=True, check=False
        )
        if done.returncode != 0 and not (args[0] == "merge-tree" and done.returncode == 1):
            last = " ".join(done.stderr.strip().splitlines()[-2:]) or f"exit status {done.returncode}"
            raise GitError(f"git {args[0]}: {last}")
        return done.stdout.strip()

    def fetch(self, repository: str, *refspecs: str) -> None:
        """Fetch `refspecs` of `repository`; a source ref that does not exist is skipped, not an error."""
        advertised = set(self.run("ls-remote", self.hosting.url(repository)).split())
        wanted = [
            spec for spec in refspecs if spec.lstrip("+").split(":", 1)[0].rstrip("*") in advertised or "*" in spec
        ]
        if wanted:
            self.run("fetch", "--quiet", "--no-tags", self.hosting.url(repository), *wanted)

    def push(self, repository: str, *refspecs: str, atomic: bool = False) -> None:
        """Push without force: git refuses any update that is not a fast-forward, so nobody's commits are lost."""
        self.run(
            "push", "--quiet", "--porcelain", *(["--atomic"] if atomic else []), self.hosting.url(repository), *refspecs
        )

    def resolve(self, ref: str) -> str | None:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=self.directory,
            capture_output=True,
            text=True,
            check=False,
        )
        return found.stdout.strip() or None

    def refs(self, prefix: str) -> dict[str, str]:
        """Every ref under `prefix`, by its name after the prefix, to the commit it points at."""
        lines = self.run("for-each-ref", "--format=%(refname) %(objectname)", prefix).splitlines()
        return {name.removeprefix(prefix): commit for name, commit in (line.split() for line in lines)}

    def tree(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}")

    def first_parent_history(self, ref: str) -> list[tuple[str, str]]:
        """The commits of `ref` and their trees, oldest first, along first parents."""
        lines = self.run("log", "--first-parent", "--reverse", "--format=%H %T", ref).splitlines()
        return [(commit, tree) for commit, tree in (line.split() for line in lines)]

    def ancestors(self, ref: str) -> set[str]:
        """Every commit `ref` descends from, itself included."""
        return set(self.run("rev-list", ref).split())

    def roots(self, ref: str) -> list[str]:
        return self.run("rev-list", "--max-parents=0", ref).split()

    def commit(self, tree: str, message: str, *parents: str) -> str:
        arguments = [item for parent in parents for item in ("-p", parent)]
        return self.run("commit-tree", tree, *arguments, input=message)

    def update_ref(self, ref: str, commit: str) -> None:
        self.run("update-ref", ref, commit)

    def write_tree(self, folder: Path) -> str:
        """The tree of every file under `folder`, written into the workspace."""
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.run("--work-tree", str(folder), "add", "--all", "--force", ".", env=env)
            return self.run("write-tree", env=env)

    def merge(self, base: str, ours: str, theirs: str, labels: tuple[str, str]) -> Merge:
        """The three-way merge of trees `ours` and `theirs` from `base`, conflicts written with markers labelled
        `labels`. The sides are unrelated to the template's history, so they are joined at a commit of `base` made
        for this merge alone."""
        root = self.commit(base, "merge base")
        with self._branches(
            {labels[0]: self.commit(ours, "ours", root), labels[1]: self.commit(theirs, "theirs", root)}
        ):
            lines = self.run("merge-tree", "--write-tree", "--name-only", "--no-messages", *labels).splitlines()
        return Merge(lines[0], sorted(set(filter(None, lines[1:]))))

    @contextmanager
    def _branches(self, branches: dict[str, str]) -> Iterator[None]:
        # merge-tree labels conflict markers with the names it is given: branches named for what they hold.
        for name, commit in branches.items():
            self.update_ref(f"refs/heads/{name}", commit)
        try:
            yield
        finally:
            for name in branches:
                self.run("update-ref", "-d", f"refs/heads/{name}")
