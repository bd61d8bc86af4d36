"""A service's Argo CD Applications (imaas/declarations/applications.py): one per environment this stack hosts."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import applications, naming
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class ApplicationsArgs:
    tenant: Tenant
    service: Service
    environments: list[str]
    settings: StackSettings
    github_owner: str


def declare_applications(
    args: ApplicationsArgs, opts: pulumi.ResourceOptions
) -> list[k8s.apiextensions.CustomResource]:
    tenant, service = args.tenant, args.service
    return [
        k8s.apiextensions.CustomResource(
            naming.application(tenant.name, service.name, environment),
            api_version="argoproj.io/v1alpha1",
            kind="Application",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=naming.application(tenant.name, service.name, environment),
                namespace=args.settings.argocd_namespace,
                labels=applications.application_labels(tenant, service, environment),
                finalizers=[applications.CASCADE_FINALIZER],
            ),
            spec=applications.application_spec(tenant, service, environment, args.settings, args.github_owner),
            opts=opts,
        )
        for environment in args.environments
    ]
