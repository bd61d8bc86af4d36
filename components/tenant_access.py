"""Who may do what inside a tenant namespace: developer and viewer roles bound to the tenant's identity-provider
groups, and the ServiceAccount Argo CD syncs as. Nothing here is cluster-wide, and no role may touch the
namespace's fence (quota, limit range, network policy, RBAC)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.rbac import v1 as rbac

from imaas.declarations import namespace_objects
from imaas.declarations.isolation import DEPLOYER_ACCOUNT

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete"]
RBAC_GROUP = "rbac.authorization.k8s.io"

DEVELOPER_ROLE = namespace_objects.DEVELOPER_ROLE
VIEWER_ROLE = namespace_objects.VIEWER_ROLE
DEPLOYER_ROLE = namespace_objects.DEPLOYER_ROLE

# What a tenant's delivery manages: the kinds of the service template's deploy manifests, and their kin.
WORKLOADS: dict[str, list[str]] = {
    "": ["configmaps", "secrets", "services", "persistentvolumeclaims", "serviceaccounts"],
    "apps": ["deployments", "statefulsets"],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["ingresses"],
    "monitoring.coreos.com": ["podmonitors", "servicemonitors"],
    # Routes of the tenant's own hosts, to its namespace's ListenerSet only (the admission rule imaas-route-hosts).
    "gateway.networking.k8s.io": ["httproutes"],
}
# What people look at without changing it; secrets are left out of plain viewing.
OBSERVED: dict[str, list[str]] = {
    "": ["pods", "pods/log", "events", "configmaps", "services", "persistentvolumeclaims", "resourcequotas",
         "limitranges", "serviceaccounts"],
    "apps": ["deployments", "statefulsets", "replicasets"],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "monitoring.coreos.com": ["podmonitors", "servicemonitors"],
    "gateway.networking.k8s.io": ["httproutes", "listenersets"],
    "external-secrets.io": ["externalsecrets", "secretstores"],
    "cert-manager.io": ["certificates"],
}  # fmt: skip


def _rules(resources: dict[str, list[str]], verbs: list[str]) -> list[rbac.PolicyRuleArgs]:
    return [rbac.PolicyRuleArgs(api_groups=[group], resources=kinds, verbs=verbs) for group, kinds in resources.items()]


def _viewer_rules() -> list[rbac.PolicyRuleArgs]:
    return _rules(OBSERVED, READ)


def _developer_rules(may_edit: bool) -> list[rbac.PolicyRuleArgs]:
    if not may_edit:
        return _viewer_rules()
    debugging = rbac.PolicyRuleArgs(
        api_groups=[""], resources=["pods/exec", "pods/portforward"], verbs=["create", "get"]
    )
    restart = rbac.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["delete"])
    return [*_viewer_rules(), *_rules(WORKLOADS, WRITE), debugging, restart]


@dataclass(frozen=True)
class AccessArgs:
    namespace: str
    developers: list[str]
    viewers: list[str]
    developers_may_edit: bool
    labels: dict[str, str]


def declare_access(args: AccessArgs, opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    namespace = args.namespace

    def metadata(name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=args.labels)

    def role(name: str, rules: list[rbac.PolicyRuleArgs]) -> rbac.Role:
        return rbac.Role(f"{namespace}-{name}", metadata=metadata(name), rules=rules, opts=opts)

    def binding(role_name: str, subjects: list[rbac.SubjectArgs]) -> rbac.RoleBinding:
        return rbac.RoleBinding(
            f"{namespace}-{role_name}",
            metadata=metadata(role_name),
            role_ref=rbac.RoleRefArgs(api_group=RBAC_GROUP, kind="Role", name=role_name),
            subjects=subjects,
            opts=opts,
        )

    def groups(names: list[str]) -> list[rbac.SubjectArgs]:
        return [rbac.SubjectArgs(api_group=RBAC_GROUP, kind="Group", name=name) for name in names]

    account = k8s.core.v1.ServiceAccount(
        f"{namespace}-{DEPLOYER_ACCOUNT}",
        metadata=metadata(DEPLOYER_ACCOUNT),
        automount_service_account_token=False,
        opts=opts,
    )
    declared: list[pulumi.CustomResource] = [
        account,
        role(DEPLOYER_ROLE, [*_viewer_rules(), *_rules(WORKLOADS, WRITE)]),
        binding(DEPLOYER_ROLE, [rbac.SubjectArgs(kind="ServiceAccount", name=DEPLOYER_ACCOUNT, namespace=namespace)]),
        role(DEVELOPER_ROLE, _developer_rules(args.developers_may_edit)),
        role(VIEWER_ROLE, _viewer_rules()),
    ]
    for role_name, names in ((DEVELOPER_ROLE, args.developers), (VIEWER_ROLE, args.viewers)):
        if names:
            declared.append(binding(role_name, groups(names)))
    return declared
