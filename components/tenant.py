"""Everything one tenant has on one stack."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.app_project import AppProjectArgs, declare_app_project
from components.tenant_environment import TenantEnvironment, TenantEnvironmentArgs
from imaas import naming
from imaas.settings import StackSettings
from imaas.tenant import Tenant


@dataclass(frozen=True)
class TenantArgs:
    tenant: Tenant
    settings: StackSettings
    tenants: list[Tenant]
    """Every tenant, for the network peers of this one."""
    github_owner: str


class TenantResources(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imaas:index:Tenant", name, None, opts)
        tenant, settings = args.tenant, args.settings
        self.tenant_name = tenant.name
        hosted = [environment for environment in tenant.environments if environment in settings.environments]
        self.environments = [
            TenantEnvironment(
                naming.namespace(tenant.name, environment),
                TenantEnvironmentArgs(tenant=tenant, environment=environment, settings=settings, tenants=args.tenants),
                pulumi.ResourceOptions(parent=self),
            )
            for environment in hosted
        ]
        if hosted:
            declare_app_project(
                AppProjectArgs(tenant=tenant, environments=hosted, settings=settings, github_owner=args.github_owner),
                pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"namespaces": [environment.namespace_name for environment in self.environments]})
