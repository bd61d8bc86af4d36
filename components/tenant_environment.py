"""A tenant's space in one environment: its namespace."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas import naming
from imaas.settings import StackSettings
from imaas.tenant import Tenant


@dataclass(frozen=True)
class TenantEnvironmentArgs:
    tenant: Tenant
    environment: str
    settings: StackSettings


class TenantEnvironment(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imaas:tenant:Environment", name, None, opts)
        tenant = args.tenant
        self.namespace_name = naming.namespace(tenant.name, args.environment)
        annotations = {"imaas.io/contact": tenant.metadata.contact}
        if tenant.metadata.display_name:
            annotations["imaas.io/display-name"] = tenant.metadata.display_name
        self.namespace = k8s.core.v1.Namespace(
            self.namespace_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.namespace_name,
                labels=naming.labels(tenant, args.environment),
                annotations=annotations,
            ),
            # Retained rather than protected: dropping a tenant from the program must leave its workloads and
            # data in place without wedging every later `pulumi up` on a protected delete.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"namespace": self.namespace_name})
