"""A service's CI identity: an IAM role that only the workflows of the service's own repository, on its own
branches, can assume through GitHub OIDC, and that can push only to the service's own ECR repository."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from imaas.declarations import delivery, naming
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class CiRoleArgs:
    tenant: Tenant
    service: Service
    repository_id: pulumi.Input[int]
    """The service repository's id, which GitHub never gives another repository."""
    oidc_provider_arn: pulumi.Input[str]


def declare_ci_role(args: CiRoleArgs, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    tenant, service = args.tenant, args.service
    name = naming.ci_role(tenant.name, service.name)
    return aws.iam.Role(
        name,
        name=name,
        description=f"CI of service {service.name} of tenant {tenant.name}: pushes its images",
        assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.repository_id).apply(
            lambda values: json.dumps(
                delivery.ci_trust_policy(values[0], delivery.ci_subjects(values[1], tenant, service))
            )
        ),
        max_session_duration=3600,
        tags=naming.labels(tenant, service=service.name),
        opts=opts,
    )


def declare_push_policy(
    role: aws.iam.Role, role_name: str, repository_arn: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicy:
    return aws.iam.RolePolicy(
        f"{role_name}-push",
        role=role.name,
        policy=repository_arn.apply(lambda arn: json.dumps(delivery.ci_push_policy([arn]))),
        opts=opts,
    )
