"""Who must approve a pull request's change to a tenant file: the tenant's own maintainers, as the base lists them.

CODEOWNERS cannot say this: its owners need write access to the repository (tenant maintainers need none), it
cannot name owners from a file's content, and it cannot require two parties (the platform admins, who own
`tenants/` there, and the tenant). So the pull-request workflow runs this check from the base branch, on the base's
and the pull request's tenant files and on the pull request's reviews, as a required status check; branch
protection still requires the platform admins' CODEOWNERS approval on top.

The rules, for each tenant file the pull request adds, modifies or deletes:

- a file whose data is unchanged (comments or formatting only) needs nobody;
- a new tenant has no maintainers yet: the platform admins' CODEOWNERS approval suffices;
- a change to the platform's fields only (`PLATFORM_FIELDS`: the tenant's size and quota, which the platform sets
  against each cluster's capacity) suffices with the platform admins' approval;
- any other change, or a deletion, needs an approval on the head commit from a maintainer listed in that file at
  the base revision, other than the pull request's author; when the author is the base's only maintainer, the
  platform admins' approval suffices (a tenant with one maintainer cannot have a second party of its own).

Maintainers are read from the base revision, never from the pull request: a pull request that adds its author as
a maintainer does not make its author a maintainer for its own approval.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.tenant_files import file_name_problem, is_tenant_file_name, shown_name, tenant_paths
from imaas.inputs.yaml_source import read_yaml_file

PLATFORM_FIELDS = (("spec", "size"), ("spec", "quota"))
"""Fields the platform admins decide on their own: capacity, bounded by each stack's quotaMax."""

WHOLE_FILE = "(the whole file)"
# Review states that replace a reviewer's earlier verdict; COMMENTED and PENDING leave it as it was.
VERDICT_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})


class Need(StrEnum):
    platform = "platform"
    maintainer = "maintainer"


@dataclass(frozen=True)
class Review:
    login: str
    state: str
    commit_id: str


@dataclass(frozen=True)
class Requirement:
    file: str
    """The tenant file's name in the tenants folder, for example payments.yaml."""
    tenant: str
    need: Need
    reason: str
    fields: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()
    """Who may approve it (need maintainer): the base's maintainers other than the author."""


@dataclass(frozen=True)
class Verdict:
    requirement: Requirement
    approved_by: tuple[str, ...]

    @property
    def satisfied(self) -> bool:
        return self.requirement.need is not Need.maintainer or bool(self.approved_by)


def read_reviews(text: str) -> list[Review]:
    """Reviews as the REST API lists them: one JSON array, several (`gh api --paginate`), or one object a line."""
    items: list[Any] = []
    decoder = json.JSONDecoder()
    position = 0
    text = text.strip()
    try:
        while position < len(text):
            value, position = decoder.raw_decode(text, position)
            items.extend(value if isinstance(value, list) else [value])
            while position < len(text) and text[position].isspace():
                position += 1
    except json.JSONDecodeError as error:
        raise UsageError(f"reviews: not JSON ({error})") from None
    reviews = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("user"), dict):
            raise UsageError("reviews: each review must be an object with user.login, state and commit_id")
        login, state, commit = item["user"].get("login"), item.get("state"), item.get("commit_id")
        if not isinstance(login, str) or not isinstance(state, str):
            raise UsageError("reviews: each review must be an object with user.login, state and commit_id")
        reviews.append(Review(login, state, commit if isinstance(commit, str) else ""))
    return reviews


def approvers(reviews: Iterable[Review], head_sha: str) -> set[str]:
    """Logins (lower case, as GitHub compares them) whose latest verdict is an approval of the head commit.

    An approval of an earlier commit does not count: the commits pushed after it are not what was approved."""
    latest: dict[str, Review] = {}
    for review in reviews:  # the API lists reviews oldest first
        if review.state in VERDICT_STATES:
            latest[review.login.lower()] = review
    return {login for login, review in latest.items() if review.state == "APPROVED" and review.commit_id == head_sha}


def requirements(base_dir: Path, head_dir: Path, author: str) -> list[Requirement]:
    """What each tenant file the pull request adds, modifies or deletes needs, by file name."""
    for directory in (base_dir, head_dir):
        if not directory.is_dir():
            raise UsageError(f"{directory}: tenants folder not found")
    base, head = _tenant_files(base_dir), _tenant_files(head_dir)
    for directory, files in ((base_dir, base), (head_dir, head)):
        for name in sorted(files):
            if not is_tenant_file_name(name):
                raise UsageError(str(file_name_problem(directory, name)))
    found = []
    for name in sorted(set(base) | set(head)):
        tenant = Path(name).stem
        if name not in base:
            found.append(Requirement(name, tenant, Need.platform, "a new tenant: it has no maintainers yet"))
            continue
        # A file the pull request leaves as it was is not parsed: most of a thousand.
        if name in head and head[name].read_bytes() == base[name].read_bytes():
            continue
        before = _load(base[name])
        if name in head:
            fields = _changed_fields(before, _load(head[name]))
            if not fields:
                continue  # comments or formatting only
        else:
            fields = (WHOLE_FILE,)
        if all(_is_platform_field(field) for field in fields):
            found.append(Requirement(name, tenant, Need.platform, "only the platform's fields changed", fields))
            continue
        listed = _maintainers(before)
        others = tuple(login for login in listed if login.lower() != author.lower())
        action = "deleted" if name not in head else "changed"
        if not others:
            why = (
                f"{action}; its only maintainer at the base is the author"
                if listed
                else f"{action}; the base lists no maintainer"
            )
            found.append(Requirement(name, tenant, Need.platform, why, fields))
            continue
        found.append(Requirement(name, tenant, Need.maintainer, action, fields, others))
    return found


def verdicts(found: list[Requirement], approved: set[str]) -> list[Verdict]:
    return [
        Verdict(requirement, tuple(login for login in requirement.maintainers if login.lower() in approved))
        for requirement in found
    ]


def describe(verdict: Verdict, author: str, tenants_label: str) -> str:
    """One line for a person: the file, the tenant, what changed and who may approve."""
    # Every value here is a file's, a pull request's or GitHub's text: each printed inertly (shown_name).
    requirement = verdict.requirement
    place = f"{tenants_label.rstrip('/')}/{shown_name(requirement.file)}"
    tenant = shown_name(requirement.tenant)
    changed = f" ({', '.join(map(shown_name, requirement.fields))})" if requirement.fields else ""
    head = f"{place}: tenant '{tenant}': {requirement.reason}{changed}"
    if requirement.need is Need.platform:
        return f"{head}: a platform admin's approval (CODEOWNERS) suffices"
    if verdict.approved_by:
        return f"{head}: approved by maintainer {', '.join(map(shown_name, verdict.approved_by))}"
    who = ", ".join(map(shown_name, requirement.maintainers))
    return (
        f"{head}: needs an approval of the head commit from a maintainer of '{tenant}' listed at the "
        f"base: {who} (the author, {shown_name(author)}, does not count)"
    )


class _Broken:
    """A file that is not YAML: any change to it, or from it, is a change of the whole file."""


_BROKEN = _Broken()


def _tenant_files(directory: Path) -> dict[str, Path]:
    return {path.name: path for path in tenant_paths(directory)}


def _load(path: Path) -> Any:
    # The platform's own reader: a pull request's file is untrusted, and its size, nesting and aliases are bounded.
    try:
        return read_yaml_file(path).data
    except (OSError, InputError):
        return _BROKEN


def _changed_fields(before: Any, after: Any, prefix: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The dotted fields whose values differ, down to the second level (spec.team, spec.quota, metadata.contact)."""
    if before is _BROKEN or after is _BROKEN:
        return (WHOLE_FILE,)
    if before == after:
        return ()
    if len(prefix) >= 2 or not isinstance(before, dict) or not isinstance(after, dict):
        return (".".join(prefix) if prefix else WHOLE_FILE,)
    changed: list[str] = []
    for key in sorted(set(before) | set(after), key=str):
        changed.extend(_changed_fields(before.get(key), after.get(key), (*prefix, str(key))))
    return tuple(changed)


def _is_platform_field(field: str) -> bool:
    parts = tuple(field.split("."))
    return any(parts[: len(platform)] == platform for platform in PLATFORM_FIELDS)


def _maintainers(data: Any) -> tuple[str, ...]:
    # The base may hold a file that was already broken: then it lists nobody, and the platform admins decide.
    listed: Any = data
    for key in ("spec", "team", "maintainers"):
        listed = listed.get(key) if isinstance(listed, dict) else None
    return tuple(login for login in listed if isinstance(login, str)) if isinstance(listed, list) else ()
