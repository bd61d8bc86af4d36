"""The whole platform on one stack: every tenant this stack manages."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.tenant import TenantArgs, TenantResources
from imaas.settings import StackSettings
from imaas.tenant import Tenant


@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    tenants: list[Tenant]
    """Every valid tenant; the stack declares those its `tenantSelector` picks."""
    github_owner: str


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imaas:index:Platform", name, None, opts)
        settings = args.settings
        self.tenants = [
            TenantResources(
                tenant.name,
                TenantArgs(tenant=tenant, settings=settings, tenants=args.tenants, github_owner=args.github_owner),
                pulumi.ResourceOptions(parent=self),
            )
            for tenant in args.tenants
            if settings.manages(tenant.name)
            and (settings.owns_global_resources or set(tenant.environments) & set(settings.environments))
        ]
        self.register_outputs({"tenants": [tenant.tenant_name for tenant in self.tenants]})
