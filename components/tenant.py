"""Everything one tenant has on one stack: its spaces and Argo CD project for the environments the stack hosts,
its services, and (on the stack that owns global resources) its GitHub team and CI role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.app_project import AppProjectArgs, declare_app_project
from components.ci_identity import CiRoleArgs, declare_ci_role, declare_push_policy
from components.delivery_context import DeliveryContext
from components.observability import ObservabilityContext
from components.service import ServiceArgs, ServiceResources
from components.tenant_environment import TenantEnvironment, TenantEnvironmentArgs
from components.tenant_observability import TenantObservabilityView, TenantObservabilityViewArgs
from components.tenant_team import declare_team
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant
from imaas.spec import naming, telemetry, types
from imaas.spec.isolation import NetworkPeers


@dataclass(frozen=True)
class TenantArgs:
    tenant: Tenant
    settings: StackSettings
    peers: dict[str, NetworkPeers]
    """The network peers of each of the tenant's environments that this stack hosts."""
    context: DeliveryContext
    observability: ObservabilityContext | None = None
    """The cluster's observability stack, when the stack declares one."""
    argocd: pulumi.Resource | None = None
    """Argo CD's release, when the stack installs Argo CD: the AppProject CRD comes with it."""


class TenantResources(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.TENANT, name, None, opts)
        self.args = args
        self.tenant_name = args.tenant.name
        self.hosted = args.settings.hosted(args.tenant.environments)
        self.environments = [self._environment(environment) for environment in self.hosted]
        self._observability_view()
        if self.hosted:
            self._app_project()
        team, ci_role = self._global_identity()
        services = [
            self._service(service, team, ci_role)
            for service in args.tenant.spec.services
            if team is not None or set(args.tenant.service_environments(service)) & set(self.hosted)
        ]
        if ci_role is not None:
            arns = [service.registry.arn for service in services if service.active and service.registry is not None]
            declare_push_policy(args.tenant, ci_role, arns, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"namespaces": [environment.namespace_name for environment in self.environments]})

    def _environment(self, environment: str) -> TenantEnvironment:
        tenant, settings = self.args.tenant, self.args.settings
        return TenantEnvironment(
            naming.namespace(tenant.name, environment),
            TenantEnvironmentArgs(
                tenant=tenant,
                environment=environment,
                quota=settings.quota_for(tenant.spec.size, tenant.spec.quota),
                peers=self.args.peers[environment],
                cluster_cidrs=settings.cluster_cidrs,
                observability=self.args.observability,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _observability_view(self) -> None:
        tenant, stack = self.args.tenant, self.args.observability
        share = telemetry.tenant_telemetry(tenant, self.args.settings)
        if stack is not None and share is not None:
            TenantObservabilityView(
                f"{tenant.name}-observability",
                TenantObservabilityViewArgs(tenant=tenant, telemetry=share, observability=stack),
                pulumi.ResourceOptions(parent=self),
            )

    def _app_project(self) -> None:
        args = self.args
        declare_app_project(
            AppProjectArgs(
                tenant=args.tenant,
                environments=self.hosted,
                settings=args.settings,
                github_owner=args.context.github_owner,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[args.argocd] if args.argocd else None),
        )

    def _global_identity(self) -> tuple[github.Team | None, aws.iam.Role | None]:
        """The tenant's GitHub team and, when it has active services, its CI role: on the stack owning them."""
        tenant, context = self.args.tenant, self.args.context
        if context.globals is None:
            return None, None
        child = pulumi.ResourceOptions(parent=self)
        team = declare_team(tenant, child)
        if not tenant.active_services():
            return team, None
        ci_role = declare_ci_role(
            CiRoleArgs(
                tenant=tenant, github_owner=context.github_owner, oidc_provider_arn=context.globals.oidc_provider_arn
            ),
            child,
        )
        return team, ci_role

    def _service(self, service: Service, team: github.Team | None, ci_role: aws.iam.Role | None) -> ServiceResources:
        args = self.args
        return ServiceResources(
            naming.github_repository(args.tenant.name, service.name),
            ServiceArgs(
                tenant=args.tenant,
                service=service,
                settings=args.settings,
                context=args.context,
                team=team,
                ci_role=ci_role,
                argocd=args.argocd,
            ),
            pulumi.ResourceOptions(parent=self),
        )
