"""The tenant's Argo CD AppProject (imaas/declarations/app_project.py): the fence around its delivery."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import app_project, naming
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant


@dataclass(frozen=True)
class AppProjectArgs:
    tenant: Tenant
    environments: list[str]
    """The tenant's environments hosted by this stack."""
    settings: StackSettings
    github_owner: str


def declare_app_project(args: AppProjectArgs, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    name = naming.app_project(args.tenant.name)
    return k8s.apiextensions.CustomResource(
        f"{name}-project",
        api_version="argoproj.io/v1alpha1",
        kind="AppProject",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=args.settings.argocd_namespace, labels=naming.labels(args.tenant)
        ),
        spec=app_project.app_project_spec(args.tenant, args.environments, args.github_owner),
        opts=opts,
    )
