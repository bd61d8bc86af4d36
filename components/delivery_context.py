"""What every tenant's delivery resources share on one stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class GlobalContext:
    """What only the stack that owns global resources (GitHub, ECR, IAM) has."""

    aws_region: str
    oidc_provider_arn: pulumi.Input[str]
    template_content: list[pulumi.Resource]
    """The service template's default branch and files, which a repository generated from it must wait for; empty
    on a stack that does not declare the template (it is already there when such a stack runs)."""
    branch_provider: pulumi.ProviderResource
    """The GitHub provider for branches of new repositories, which retries while GitHub is still filling them."""


@dataclass(frozen=True)
class DeliveryContext:
    github_owner: str
    globals: GlobalContext | None
    """Set on the stack that owns global resources, and only there."""
    stack: str = ""
    """The stack's name (one per cluster or shard), in the title of the deploy keys its Argo CD reads with."""
