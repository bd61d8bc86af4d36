"""Name formats shared by tenant files and stack settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

ENVIRONMENTS: tuple[str, ...] = ("dev", "test", "prod")
Environment = Literal["dev", "test", "prod"]
Lifecycle = Literal["active", "retired"]

NAME_PATTERN = r"^[a-z][a-z0-9-]*[a-z0-9]$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GITHUB_LOGIN_PATTERN = r"^[A-Za-z0-9](-?[A-Za-z0-9])*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _no_double_dash(value: str) -> str:
    if "--" in value:
        raise ValueError("must not contain '--'")
    return value


TenantName = Annotated[
    str, StringConstraints(min_length=2, max_length=20, pattern=NAME_PATTERN), AfterValidator(_no_double_dash)
]
ServiceName = Annotated[
    str, StringConstraints(min_length=2, max_length=30, pattern=NAME_PATTERN), AfterValidator(_no_double_dash)
]
KubernetesName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=K8S_NAME_PATTERN)]
GitHubLogin = Annotated[str, StringConstraints(max_length=39, pattern=GITHUB_LOGIN_PATTERN)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]


def in_canonical_order(environments: list[str]) -> list[str]:
    """Environments in promotion order (dev, test, prod), whatever order a file lists them in."""
    return [environment for environment in ENVIRONMENTS if environment in environments]
