"""The tenant's CI identity: an IAM role that only the tenant's own repositories' workflows can assume through
GitHub OIDC, and that can push only to the tenant's own ECR repositories."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from imaas.model.tenant import Tenant
from imaas.spec import delivery, naming


@dataclass(frozen=True)
class CiRoleArgs:
    tenant: Tenant
    github_owner: str
    oidc_provider_arn: pulumi.Input[str]


def declare_ci_role(args: CiRoleArgs, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    tenant = args.tenant
    subjects = delivery.ci_subjects(args.github_owner, tenant)
    return aws.iam.Role(
        naming.ci_role(tenant.name),
        name=naming.ci_role(tenant.name),
        description=f"CI of tenant {tenant.name}: pushes its images",
        assume_role_policy=pulumi.Output.from_input(args.oidc_provider_arn).apply(
            lambda arn: json.dumps(delivery.ci_trust_policy(arn, subjects))
        ),
        max_session_duration=3600,
        tags=naming.labels(tenant),
        opts=opts,
    )


def declare_push_policy(
    tenant: Tenant, role: aws.iam.Role, repository_arns: list[pulumi.Output[str]], opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicy:
    return aws.iam.RolePolicy(
        f"{naming.ci_role(tenant.name)}-push",
        role=role.name,
        policy=pulumi.Output.all(*repository_arns).apply(lambda arns: json.dumps(delivery.ci_push_policy(list(arns)))),
        opts=opts,
    )
