"""How this cluster's Argo CD reads one service repository, and that repository only: a key pair the stack generates
(its private half a secret in this stack's state), its public half registered on the repository as a read-only
deploy key, and a `repository` Secret for the repository's SSH URL alone, scoped to the tenant's AppProject.

Argo CD hands an Application's repository credential to kustomize for remote bases and to git for submodules: a
credential that read more than the one repository would let a line in a tenant's kustomization.yaml render another
tenant's. A deploy key reads exactly one repository on GitHub, and a project-scoped Secret is used by exactly one
project (util/db getRepositorySecret: a Secret's `project` must equal the Application's, and only a Secret with no
project is a fallback for every project). Every cluster's stack makes its own keys: no key crosses clusters or goes
through another store, and revoking a cluster's access is deleting its keys."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_github as github
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from imaas.declarations import applications, naming
from imaas.model.tenant import Service, Tenant

KEY_ALGORITHM = "ED25519"
"""GitHub accepts Ed25519 deploy keys; the key is short, fast and has no size to choose."""


@dataclass(frozen=True)
class RepositoryAccessArgs:
    tenant: Tenant
    service: Service
    github_owner: str
    stack: str
    """The stack (one per cluster or shard) whose Argo CD the key is for: in the deploy key's title, so that a
    repository's keys say which cluster reads with each."""
    namespace: str
    """`imaas:argocdNamespace`: Argo CD reads repository Secrets from its own namespace only."""
    repository: pulumi.Input[str]
    """The repository's name: the Repository's output on the stack that declares it (so that the key waits for it),
    the derived name elsewhere (that stack's wave runs after the repository's)."""


@dataclass(frozen=True)
class RepositoryAccess:
    key: tls.PrivateKey
    deploy_key: github.RepositoryDeployKey
    secret: k8s.core.v1.Secret


def deploy_key_title(stack: str) -> str:
    return f"imaas Argo CD, stack {stack} (read-only)"


def declare_repository_access(
    args: RepositoryAccessArgs, opts: pulumi.ResourceOptions, secret_opts: pulumi.ResourceOptions
) -> RepositoryAccess:
    """`opts` for the key pair and the deploy key (the GitHub provider), `secret_opts` for the Secret (which waits
    for Argo CD where the stack installs it)."""
    tenant, service = args.tenant.name, args.service.name
    name = naming.github_repository(tenant, service)
    # Generated once and kept in the state, encrypted (the provider marks its private outputs secret): a replacement
    # happens only when this resource is replaced, which replaces the deploy key and updates the Secret with it.
    key = tls.PrivateKey(f"{name}-argocd-key", algorithm=KEY_ALGORITHM, opts=opts)
    deploy_key = github.RepositoryDeployKey(
        f"{name}-argocd-deploy-key",
        repository=args.repository,
        title=deploy_key_title(args.stack),
        key=key.public_key_openssh,
        # Argo CD only reads; a writable key would let whoever reads this cluster's Argo CD push to the repository.
        read_only=True,
        opts=opts,
    )
    secret = k8s.core.v1.Secret(
        f"{name}-argocd-repository",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=naming.repository_credential(tenant, service),
            namespace=args.namespace,
            labels=applications.repository_secret_labels(tenant, service),
        ),
        string_data={
            **applications.repository_secret_data(args.github_owner, tenant, service),
            # Secret whatever the SDK does with stringData: the key must never be shown in a plan or a log.
            "sshPrivateKey": key.private_key_openssh.apply(pulumi.Output.secret),
        },
        # Argo CD tries the key only once GitHub knows it.
        opts=pulumi.ResourceOptions.merge(secret_opts, pulumi.ResourceOptions(depends_on=[deploy_key])),
    )
    return RepositoryAccess(key, deploy_key, secret)
