"""Everything one tenant has on one stack: its spaces and Argo CD project for the environments the stack hosts,
its services, and (on the stack that owns global resources) its GitHub team and CI role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.app_project import AppProjectArgs, declare_app_project
from components.ci_identity import CiRoleArgs, declare_ci_role, declare_push_policy
from components.delivery_context import DeliveryContext
from components.observability import ObservabilityContext
from components.service import ServiceArgs, ServiceResources
from components.tenant_environment import TenantEnvironment, TenantEnvironmentArgs
from components.tenant_observability import TenantView, TenantViewArgs
from components.tenant_team import declare_team
from imaas import naming, observability
from imaas.settings import StackSettings
from imaas.tenant import Tenant


@dataclass(frozen=True)
class TenantArgs:
    tenant: Tenant
    settings: StackSettings
    tenants: list[Tenant]
    """Every tenant, for the network peers of this one."""
    context: DeliveryContext
    observability: ObservabilityContext | None = None
    """The cluster's observability stack, when the stack declares one."""
    argocd: pulumi.Resource | None = None
    """Argo CD's release, when the stack installs Argo CD: the AppProject CRD comes with it."""


class TenantResources(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imaas:index:Tenant", name, None, opts)
        tenant, settings, context = args.tenant, args.settings, args.context
        child = pulumi.ResourceOptions(parent=self)
        self.tenant_name = tenant.name
        hosted = settings.hosted(tenant.environments)
        self.environments = [
            TenantEnvironment(
                naming.namespace(tenant.name, environment),
                TenantEnvironmentArgs(
                    tenant=tenant,
                    environment=environment,
                    settings=settings,
                    tenants=args.tenants,
                    observability=args.observability,
                ),
                child,
            )
            for environment in hosted
        ]
        telemetry = observability.tenant_telemetry(tenant, settings)
        if args.observability is not None and telemetry is not None:
            TenantView(
                f"{tenant.name}-observability",
                TenantViewArgs(tenant=tenant, telemetry=telemetry, observability=args.observability),
                child,
            )
        if hosted:
            declare_app_project(
                AppProjectArgs(
                    tenant=tenant, environments=hosted, settings=settings, github_owner=context.github_owner
                ),
                pulumi.ResourceOptions(parent=self, depends_on=[args.argocd]) if args.argocd else child,
            )
        team = ci_role = None
        if context.globals is not None:
            team = declare_team(tenant, child)
            if tenant.active_services():
                ci_role = declare_ci_role(
                    CiRoleArgs(
                        tenant=tenant,
                        github_owner=context.github_owner,
                        oidc_provider_arn=context.globals.oidc_provider_arn,
                    ),
                    child,
                )
        services = [
            ServiceResources(
                naming.github_repository(tenant.name, service.name),
                ServiceArgs(
                    tenant=tenant,
                    service=service,
                    settings=settings,
                    context=context,
                    team=team,
                    ci_role=ci_role,
                    argocd=args.argocd,
                ),
                child,
            )
            for service in tenant.spec.services
            if team is not None or set(tenant.service_environments(service)) & set(hosted)
        ]
        if ci_role is not None:
            arns = [service.registry.arn for service in services if service.active and service.registry is not None]
            declare_push_policy(tenant, ci_role, arns, child)
        self.register_outputs({"namespaces": [environment.namespace_name for environment in self.environments]})
