"""Everything one tenant has on one stack: its spaces and Argo CD project for the environments the stack hosts,
its services, and (on the stack that owns global resources) its GitHub team and CI role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.app_project import AppProjectArgs, declare_app_project
from components.delivery_context import DeliveryContext
from components.observability import ObservabilityContext
from components.service import ServiceArgs, ServiceResources
from components.tenant_environment import TenantEnvironment, TenantEnvironmentArgs
from components.tenant_observability import TenantObservabilityView, TenantObservabilityViewArgs
from components.tenant_team import declare_team
from imaas.declarations import naming, telemetry, types
from imaas.declarations.isolation import NetworkPeers
from imaas.declarations.store_limits import OBSERVABILITY_LIMITS
from imaas.model.settings import StackSettings
from imaas.model.tenant import DEFAULT_SERVICE_SIZE, Service, Tenant


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
    region: str = ""
    """The stack's AWS region, where the tenant's secrets are kept."""
    operators: tuple[pulumi.Resource | None, pulumi.Resource | None] = (None, None)
    """The releases of External Secrets Operator and cert-manager, where the stack installs them."""


class TenantResources(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # A decommissioned tenant is nothing but the component, which tells `diff` that what it had is forgotten on
        # purpose.
        forgotten = args.tenant.decommissioned
        super().__init__(types.TENANT, name, {"lifecycle": "decommissioned"} if forgotten else None, opts)
        if forgotten:
            self.tenant_name, self.environments = args.tenant.name, []
            self.register_outputs({"namespaces": []})
            return
        self.args = args
        self.tenant_name = args.tenant.name
        self.hosted = args.settings.hosted(args.tenant.environments)
        self.environments = [self._environment(environment) for environment in self.hosted]
        self._observability_view()
        if self.hosted:
            self._app_project()
        team = self._team()
        for service in args.tenant.spec.services:
            if team is not None or set(args.tenant.service_environments(service)) & set(self.hosted):
                self._service(service, team)
        self.register_outputs({"namespaces": [environment.namespace_name for environment in self.environments]})

    def _environment(self, environment: str) -> TenantEnvironment:
        tenant, settings = self.args.tenant, self.args.settings
        return TenantEnvironment(
            naming.namespace(tenant.name, environment),
            TenantEnvironmentArgs(
                tenant=tenant,
                environment=environment,
                quota=settings.quota_for(tenant.spec.size, tenant.spec.quota),
                container_default=settings.service_sizes[DEFAULT_SERVICE_SIZE],
                peers=self.args.peers[environment],
                observability=self.args.observability,
                limits=OBSERVABILITY_LIMITS[tenant.spec.size],
                alerting=settings.observability.alerting is not None,
                settings=settings,
                region=self.args.region,
                operators=self.args.operators,
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

    def _team(self) -> github.Team | None:
        """The tenant's GitHub team, on the stack that owns global resources."""
        if self.args.context.globals is None:
            return None
        return declare_team(self.args.tenant, pulumi.ResourceOptions(parent=self))

    def _service(self, service: Service, team: github.Team | None) -> ServiceResources:
        args = self.args
        return ServiceResources(
            naming.github_repository(args.tenant.name, service.name),
            ServiceArgs(
                tenant=args.tenant,
                service=service,
                settings=args.settings,
                context=args.context,
                team=team,
                argocd=args.argocd,
            ),
            pulumi.ResourceOptions(parent=self),
        )
