"""Who may do what inside a tenant namespace (imaas/declarations/roles.py): developer and viewer roles bound to the
tenant's identity-provider groups, and the ServiceAccount Argo CD syncs as with its role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.rbac import v1 as rbac

from imaas.declarations import roles
from imaas.declarations.isolation import DEPLOYER_ACCOUNT
from imaas.declarations.namespace_objects import DEPLOYER_ROLE, DEVELOPER_ROLE, VIEWER_ROLE


@dataclass(frozen=True)
class AccessArgs:
    namespace: str
    environment: str
    developers: list[str]
    viewers: list[str]
    labels: dict[str, str]


def declare_access(args: AccessArgs, opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    namespace = args.namespace

    def metadata(name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=args.labels)

    def role(name: str, rules: list[dict[str, Any]]) -> rbac.Role:
        return rbac.Role(f"{namespace}-{name}", metadata=metadata(name), rules=rules, opts=opts)

    def binding(role_name: str, subjects: list[dict[str, str]]) -> rbac.RoleBinding:
        return rbac.RoleBinding(
            f"{namespace}-{role_name}",
            metadata=metadata(role_name),
            role_ref=roles.role_ref(role_name),
            subjects=subjects,
            opts=opts,
        )

    account = k8s.core.v1.ServiceAccount(
        f"{namespace}-{DEPLOYER_ACCOUNT}",
        metadata=metadata(DEPLOYER_ACCOUNT),
        automount_service_account_token=False,
        opts=opts,
    )
    declared: list[pulumi.CustomResource] = [
        account,
        role(DEPLOYER_ROLE, roles.deployer_rules()),
        binding(DEPLOYER_ROLE, roles.account_subjects(DEPLOYER_ACCOUNT, namespace)),
        role(DEVELOPER_ROLE, roles.developer_rules(args.environment)),
        role(VIEWER_ROLE, roles.viewer_rules()),
    ]
    for role_name, names in ((DEVELOPER_ROLE, args.developers), (VIEWER_ROLE, args.viewers)):
        if names:
            declared.append(binding(role_name, roles.group_subjects(names)))
    return declared
