"""A tenant's space in one environment: its namespace and the fence around it (Pod Security, quota, limits,
network isolation and RBAC), so that one tenant can neither starve nor reach nor administer another."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.network_isolation import declare_network_policy
from components.observability import ObservabilityContext
from components.safety import kept
from components.tenant_access import AccessArgs, declare_access
from components.tenant_limits import declare_limits
from components.tenant_observability import declare_alerts, declare_pod_monitor, declare_scrape_access
from components.tenant_runtime import RuntimeArgs, declare_runtime
from imaas.declarations import admission, alerts, connections, isolation, naming, types
from imaas.declarations.isolation import NetworkPeers
from imaas.declarations.store_limits import ObservabilityLimits
from imaas.model.settings import PodSize, Quota, StackSettings
from imaas.model.tenant import Tenant


@dataclass(frozen=True)
class TenantEnvironmentArgs:
    tenant: Tenant
    environment: str
    quota: Quota
    """The tenant's quota on this stack: its size preset, with its file's overrides."""
    container_default: PodSize
    """What a container that states no resources gets (the LimitRange's defaults)."""
    peers: NetworkPeers
    limits: ObservabilityLimits
    """What the tenant may put into the observability stack's stores: its size's."""
    settings: StackSettings
    """The stack's settings: the way out of the cluster, and what the tenant's services need at run time (secrets,
    backends, routes)."""
    observability: ObservabilityContext | None = None
    """The cluster's observability stack, when the stack declares one."""
    alerting: bool = False
    """The stack sends alerts (it has a mail relay): each namespace routes its own to the tenant."""
    region: str = ""
    """The stack's AWS region, where the tenant's secrets are."""
    operators: tuple[pulumi.Resource | None, pulumi.Resource | None] = (None, None)
    """The releases of External Secrets Operator and cert-manager, where the stack installs them."""


class TenantEnvironment(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.TENANT_ENVIRONMENT, name, None, opts)
        tenant, environment, stack = args.tenant, args.environment, args.observability
        self.namespace_name = naming.namespace(tenant.name, environment)
        labels = naming.labels(tenant, environment)
        self.namespace = self._namespace(tenant, labels)
        # Everything else lives in the namespace, so it waits for it.
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        declare_limits(self.namespace_name, args.quota, args.container_default, labels, inside)
        declare_network_policy(
            self.namespace_name,
            args.peers,
            connections.internet_peers(args.settings),
            labels,
            inside,
            telemetry=stack.access if stack else None,
        )
        declare_runtime(
            RuntimeArgs(
                tenant=tenant,
                environment=environment,
                namespace=self.namespace_name,
                labels=labels,
                settings=args.settings,
                region=args.region,
                secrets_operator=args.operators[0],
                certificates_operator=args.operators[1],
            ),
            inside,
        )
        if stack is not None:
            # The PodMonitor CRD comes with the CRD release.
            after_crds = pulumi.ResourceOptions(
                parent=self, depends_on=[self.namespace, *([stack.crds] if stack.crds else [])]
            )
            declare_pod_monitor(self.namespace_name, labels, args.limits.scrape_samples, after_crds)
            declare_scrape_access(self.namespace_name, labels, stack.namespace, inside)
            if alerts.active_in(tenant, environment):
                declare_alerts(
                    self.namespace_name,
                    alerts.tenant_thresholds(tenant, environment),
                    labels,
                    alerts.alertmanager_config_spec(tenant) if args.alerting else None,
                    after_crds,
                )
        declare_access(
            AccessArgs(
                namespace=self.namespace_name,
                environment=environment,
                developers=tenant.spec.access.developers,
                viewers=tenant.spec.access.viewers,
                labels=labels,
            ),
            inside,
        )
        self.register_outputs({"namespace": self.namespace_name})

    def _namespace(self, tenant: Tenant, labels: dict[str, str]) -> k8s.core.v1.Namespace:
        annotations = {
            "imaas.io/contact": tenant.metadata.contact,
            # Who the admission policy on the platform's objects takes for the tenant (imaas/declarations/admission.py).
            admission.TENANT_GROUPS_ANNOTATION: admission.tenant_groups(tenant),
        }
        if tenant.metadata.display_name:
            annotations["imaas.io/display-name"] = tenant.metadata.display_name
        return k8s.core.v1.Namespace(
            self.namespace_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.namespace_name,
                labels={**labels, **isolation.pod_security_labels()},
                annotations=annotations,
            ),
            opts=kept(pulumi.ResourceOptions(parent=self)),
        )
