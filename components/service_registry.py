"""A service's ECR repository: immutable tags, scanned on push, encrypted, never force-deleted, with image
retention and a policy letting the tenant's CI push and the clusters pull."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.safety import kept
from imaas.declarations import delivery, naming
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class RegistryArgs:
    tenant: Tenant
    service: Service
    settings: StackSettings
    push_role_arn: pulumi.Input[str] | None
    """The tenant's CI role, for an active service."""


def declare_registry(args: RegistryArgs, opts: pulumi.ResourceOptions) -> aws.ecr.Repository:
    name = naming.ecr_repository(args.tenant.name, args.service.name)
    repository = aws.ecr.Repository(
        name,
        name=name,
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
        force_delete=False,
        tags=naming.labels(args.tenant, service=args.service.name),
        # Images are what a tenant ships: removing the service from a file must never delete them.
        opts=kept(opts),
    )
    inside = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[repository]))
    aws.ecr.LifecyclePolicy(
        f"{name}-retention",
        repository=repository.name,
        policy=json.dumps(delivery.lifecycle_policy()),
        opts=inside,
    )
    pull = args.settings.ecr_pull_principals
    if args.push_role_arn is not None or pull:
        aws.ecr.RepositoryPolicy(
            f"{name}-access",
            repository=repository.name,
            policy=pulumi.Output.from_input(args.push_role_arn).apply(
                lambda role: json.dumps(delivery.repository_policy(role, pull))
            ),
            opts=inside,
        )
    return repository
