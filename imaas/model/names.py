"""Name formats shared by tenant files and stack settings."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import StringConstraints

from imaas.model.base import Refuses

ENVIRONMENTS: tuple[Environment, ...] = ("dev", "test", "prod")
Environment = Literal["dev", "test", "prod"]
Lifecycle = Literal["active", "retired"]
TenantLifecycle = Literal["active", "retired", "decommissioned"]

# A letter, then letters or digits each after at most one dash: no "--", no dash at the end, at least 2 characters.
# One pattern, not a pattern and a validator, so that the JSON Schema refuses what the command line refuses.
NAME_PATTERN = r"^[a-z](-?[a-z0-9])+$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GITHUB_LOGIN_PATTERN = r"^[A-Za-z0-9](-?[A-Za-z0-9])*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# An identity-provider group: no white space at either end.
GROUP_PATTERN = r"^\S(.*\S)?$"
COST_CENTER_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$"
# What each format's value must look like, in the words both `imaas validate` and an editor (the JSON Schema's
# `patternErrorMessage`) show: one source, so that the two say the same.
PATTERN_RULES: dict[str, str] = {
    NAME_PATTERN: "must be lower-case letters, digits and single dashes, starting with a letter and ending with a "
    "letter or a digit",
    K8S_NAME_PATTERN: "must be lower-case letters, digits and dashes, starting and ending with a letter or a digit",
    GITHUB_LOGIN_PATTERN: "must be a GitHub login (letters, digits and single dashes, not starting or ending with one)",
    EMAIL_PATTERN: "must be an e-mail address",
    GROUP_PATTERN: "must not be empty nor start or end with white space",
    COST_CENTER_PATTERN: "must be letters, digits, '_', '.' and '-', starting and ending with a letter or a digit",
}
# C0 and C1 controls (newlines and tabs too: GitHub refuses them in a repository description) and the invisible
# characters that reorder text (bidirectional marks, embeddings, overrides and isolates: "Trojan Source"), which make
# a contact or a description read otherwise than it is. And the byte order mark (U+FEFF), invisible too, which the
# engines disagree on: white space to ECMA-262's `\s` (editors, JSON Schema), not to Unicode's (pydantic's patterns).
NO_CONTROL_CHARACTERS = Refuses(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]",
    "hold control characters, line breaks or bidirectional marks",
)


TenantName = Annotated[str, StringConstraints(min_length=2, max_length=20, pattern=NAME_PATTERN)]
ServiceName = Annotated[str, StringConstraints(min_length=2, max_length=30, pattern=NAME_PATTERN)]
KubernetesName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=K8S_NAME_PATTERN)]
GitHubLogin = Annotated[str, StringConstraints(max_length=39, pattern=GITHUB_LOGIN_PATTERN)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN), NO_CONTROL_CHARACTERS]


def in_canonical_order(environments: Collection[str]) -> list[str]:
    """Environments in promotion order (dev, test, prod), whatever order a file lists them in."""
    return [environment for environment in ENVIRONMENTS if environment in environments]


DOCKER_HUB = "docker.io"


def split_reference(reference: str) -> tuple[str, str, str]:
    """(registry, repository, tag or digest suffix) of an image reference, as container runtimes read it: a first
    segment without a dot, a colon or `localhost` is a Docker Hub repository, whose one-segment names are under
    `library/`."""
    name, suffix = reference, ""
    if "@" in name:
        name, digest = name.split("@", 1)
        suffix = "@" + digest
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        suffix = ":" + tag + suffix
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository, suffix


def registry_of(reference: str) -> str:
    return split_reference(reference)[0]
