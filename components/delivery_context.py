"""What every tenant's delivery resources share on one stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class GlobalContext:
    """What only the stack that owns global resources (GitHub, ECR, IAM) has."""

    aws_region: str
    oidc_provider_arn: pulumi.Input[str]


@dataclass(frozen=True)
class DeliveryContext:
    github_owner: str
    globals: GlobalContext | None
    """Set on the stack that owns global resources, and only there."""
