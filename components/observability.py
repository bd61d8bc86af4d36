"""The shared observability stack of one cluster, in its own namespace: the Prometheus Operator's CRDs, Prometheus,
Alertmanager and Grafana (kube-prometheus-stack), a second Prometheus for tenant namespaces only, Loki, Fluent Bit,
Tempo and an OpenTelemetry Collector, wired to each other, with Fluent Bit routing each tenant's logs to that
tenant's Loki tenant and the collector each tenant's traces to its Tempo tenant, each within its size's limits;
and Grafana's tenancy: an organisation per tenant, and the metrics proxy its data source reads through.

Nothing here depends on which tenants exist: each tenant's limits, trace routes and Grafana organisation are in its
own configuration object (components/tenant_observability.py), which the tenant-configuration job merges into the
runtime files declared here (components/grafana_tenancy.py), and Fluent Bit reads each line's tenant from its
namespace's label (imaas/declarations/log_routing.py). This stack is a cluster's shared stack (DESIGN section 3): it
takes no tenant at all."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm import v3 as helm

from components.grafana_tenancy import GrafanaTenancy, GrafanaTenancyArgs
from components.helm_release import declare_release
from components.observability_fence import declare_fence
from components.safety import kept
from components.store_credentials import declare_store_credentials
from imaas.declarations import (
    alerts,
    chart_values,
    charts,
    fence,
    images,
    isolation,
    naming,
    prometheus,
    roles,
    storage,
    store_clients,
    traces,
    types,
)
from imaas.declarations.store_limits import ObservabilityLimits
from imaas.declarations.telemetry import TENANT_PROMETHEUS_SERVICE, Endpoints, TelemetryAccess
from imaas.inputs.stack_file import SMTP_PASSWORD_SETTING
from imaas.model.settings import CONFIG_NAMESPACE, ObservabilitySettings


@dataclass(frozen=True)
class ObservabilityArgs:
    settings: ObservabilitySettings
    releases: dict[charts.Chart, charts.Release]
    """The stack's version and values of each chart."""
    default_limits: ObservabilityLimits
    """The limits of ids no tenant has (the platform's own): the smallest size's."""
    size_limits: list[ObservabilityLimits]
    """Every size's limits: Tempo keeps blocks as long as the longest of them."""
    environments: list[str]
    """The cluster's environments: the only ones a tenant's configuration object may name."""
    cluster_cidrs: list[str]
    """The cluster's pod and service ranges: what "outside the cluster" excepts in the fence's egress."""
    storage_class: str | None = None
    """`imaas:storageClass`, the class of every volume of the stack; None: the cluster's default class."""
    cluster_kind: str = "generic"
    """The stack's `clusterKind`: on `eks` the control plane's monitors are off."""
    image_mirror: dict[str, str] = field(default_factory=dict)
    """The stack's `imageMirror`: every image of the stack comes through it (imaas/declarations/images.py)."""
    promotion_gate: bool = False
    """The stack runs the promotion gate in this namespace (components/promotion_gate.py)."""


@dataclass(frozen=True)
class ObservabilityContext:
    """What tenant components need from the stack: where it is, and what must exist before their objects."""

    namespace: str
    namespace_resource: k8s.core.v1.Namespace | None
    """The stack's namespace, where the same stack declares it; None in a tenant stack, which the wave after the
    cluster's shared stack deploys (DESIGN section 3: no `dependsOn` across stacks)."""
    crds: helm.Release | None
    """prometheus-operator-crds, which installs the Prometheus Operator's CRDs (PodMonitor among them); None in a
    tenant stack, as above."""
    endpoints: Endpoints

    @classmethod
    def of_shared_stack(cls, namespace: str) -> ObservabilityContext:
        """The cluster's observability stack as a tenant stack knows it: by its settings, its objects made by the
        shared stack's earlier wave."""
        return cls(namespace=namespace, namespace_resource=None, crds=None, endpoints=Endpoints(namespace))

    def in_namespace(self) -> list[pulumi.Resource]:
        """What an object in the stack's namespace waits for, where the same stack declares it."""
        return [self.namespace_resource] if self.namespace_resource is not None else []

    def after_crds(self) -> list[pulumi.Resource]:
        """What a custom resource of the Prometheus Operator waits for, where the same stack installs its CRDs."""
        return [*self.in_namespace(), *([self.crds] if self.crds is not None else [])]

    @property
    def access(self) -> TelemetryAccess:
        return TelemetryAccess(namespace=self.namespace)


class Observability(pulumi.ComponentResource):
    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.OBSERVABILITY, name, None, opts)
        settings = args.settings
        endpoints = Endpoints(settings.namespace)
        self.storage_class = args.storage_class
        self.namespace = k8s.core.v1.Namespace(
            settings.namespace,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    **naming.platform_labels(),
                    **isolation.pod_security_labels(isolation.OBSERVABILITY_POD_SECURITY_LEVEL, version=None),
                },
            ),
            opts=kept(pulumi.ResourceOptions(parent=self)),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        namespace = self.namespace.metadata.name
        # The fence first: no pod of the namespace runs a moment without it.
        self.fence = declare_fence(
            fence.fence_inputs(settings, args.cluster_cidrs, args.promotion_gate), settings.namespace, inside
        )
        # The stores' credentials and the proxies' configurations, before the pods that mount them.
        self.credentials = declare_store_credentials(settings.namespace, inside)
        credentialed = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *self.credentials])
        # The stores' proxies (nginx beside Tempo and Alertmanager, Loki's gateway) come through the mirror too.
        proxy_image = images.mirrored(images.STORE_PROXY_IMAGE, args.image_mirror)
        # Kept like the namespace: deleting the CRDs would delete every monitor and Prometheus with them.
        self.crds = declare_release(
            charts.PROMETHEUS_OPERATOR_CRDS,
            args.releases[charts.PROMETHEUS_OPERATOR_CRDS],
            namespace,
            chart_values.prometheus_operator_crds_values(),
            kept(inside),
            image_mirror=args.image_mirror,
        )
        self.operator = declare_release(
            charts.KUBE_PROMETHEUS_STACK,
            args.releases[charts.KUBE_PROMETHEUS_STACK],
            namespace,
            storage.with_storage_class(
                charts.KUBE_PROMETHEUS_STACK,
                chart_values.kube_prometheus_stack_values(
                    endpoints, settings.grafana, settings.alerting, args.cluster_kind, proxy_image
                ),
                args.storage_class,
            ),
            pulumi.ResourceOptions(
                parent=self, depends_on=[self.namespace, self.crds, *self._smtp_secret(settings), *self.credentials]
            ),
            image_mirror=args.image_mirror,
        )
        self._tenant_prometheus(settings, namespace, args.image_mirror)
        self._alert_rules(namespace)
        tenancy = GrafanaTenancy(
            "grafana",
            GrafanaTenancyArgs(
                settings=settings.grafana,
                namespace=settings.namespace,
                endpoints=endpoints,
                environments=args.environments,
                grafana=self.operator,
                image_mirror=args.image_mirror,
            ),
            # The job writes the stores' reader credential into each organisation's data sources.
            credentialed,
        )
        # The stores mount the runtime files the job writes, and their proxies the stores' credentials: both must
        # exist before the stores' pods start.
        stores = pulumi.ResourceOptions(
            parent=self, depends_on=[self.namespace, *self.credentials, *tenancy.runtime_files]
        )
        self.loki = declare_release(
            charts.LOKI,
            args.releases[charts.LOKI],
            namespace,
            storage.with_storage_class(
                charts.LOKI,
                chart_values.loki_values(args.default_limits, settings.namespace, proxy_image),
                args.storage_class,
            ),
            stores,
            image_mirror=args.image_mirror,
        )
        self.fluent_bit = declare_release(
            charts.FLUENT_BIT,
            args.releases[charts.FLUENT_BIT],
            namespace,
            chart_values.fluent_bit_values(endpoints),
            # Its first logs go out as soon as it runs: Loki should be there to take them.
            pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, self.loki, *self.credentials]),
            image_mirror=args.image_mirror,
        )
        self.tempo = declare_release(
            charts.TEMPO,
            args.releases[charts.TEMPO],
            namespace,
            storage.with_storage_class(
                charts.TEMPO,
                traces.tempo_values_behind_proxy(
                    traces.tempo_values(settings.tempo, args.default_limits, args.size_limits),
                    store_clients.tempo_proxy_values(proxy_image),
                ),
                args.storage_class,
            ),
            stores,
            image_mirror=args.image_mirror,
        )
        self.collector = declare_release(
            charts.OPENTELEMETRY_COLLECTOR,
            args.releases[charts.OPENTELEMETRY_COLLECTOR],
            namespace,
            {
                **traces.collector_values(images.mirrored(images.PYTHON_IMAGE, args.image_mirror)),
                **store_clients.collector_credential_values(),
            },
            pulumi.ResourceOptions(
                parent=self, depends_on=[self.namespace, self.tempo, *self.credentials, *tenancy.runtime_files]
            ),
            image_mirror=args.image_mirror,
        )
        self.context = ObservabilityContext(
            namespace=settings.namespace, namespace_resource=self.namespace, crds=self.crds, endpoints=endpoints
        )
        self.register_outputs(
            {
                "namespace": settings.namespace,
                "otlpGrpcEndpoint": endpoints.otlp_grpc,
                "otlpHttpEndpoint": endpoints.otlp_http,
                "tempoQuery": endpoints.tempo_query,
            }
        )

    def _smtp_secret(self, settings: ObservabilitySettings) -> list[k8s.core.v1.Secret]:
        """The mail relay's password, which Alertmanager reads as a file: in the stack's namespace only, where no
        tenant reads Secrets."""
        if settings.alerting is None or settings.alerting.auth_username is None:
            return []
        # Read through Config so that it stays an Output marked secret: encrypted in the state, masked in logs.
        password = pulumi.Config(CONFIG_NAMESPACE).require_secret(SMTP_PASSWORD_SETTING)
        return [
            k8s.core.v1.Secret(
                alerts.SMTP_SECRET,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=alerts.SMTP_SECRET, namespace=settings.namespace, labels=naming.platform_labels()
                ),
                string_data={alerts.SMTP_PASSWORD_KEY: password},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        ]

    def _alert_rules(self, namespace: pulumi.Output[str]) -> None:
        """The alert rules of every tenant service, written once (imaas/declarations/alerts.py): over the services' own
        metrics for the tenants' Prometheus, over kube-state-metrics for the platform's. Each Prometheus selects its
        own by label; neither names a tenant."""
        opts = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, self.crds])
        for name, label, spec in (
            (alerts.SERVICE_RULES_NAME, alerts.TENANT_PROMETHEUS_RULE_LABEL, alerts.service_rule_spec()),
            (alerts.WORKLOAD_RULES_NAME, alerts.PLATFORM_RULE_LABEL, alerts.workload_rule_spec()),
        ):
            key, value = label
            k8s.apiextensions.CustomResource(
                name,
                api_version=alerts.API_VERSION,
                kind="PrometheusRule",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, namespace=namespace, labels={**naming.platform_labels(), key: value}
                ),
                spec=spec,
                opts=opts,
            )

    def _tenant_prometheus(
        self, settings: ObservabilitySettings, namespace: pulumi.Output[str], image_mirror: dict[str, str]
    ) -> None:
        """The Prometheus of tenant namespaces (imaas/declarations/prometheus.py), its account and its Service. The
        account may read only what each tenant namespace's RoleBinding grants it
        (components/tenant_observability.py)."""
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        labels = naming.platform_labels()
        account = k8s.core.v1.ServiceAccount(
            prometheus.TENANT_PROMETHEUS_ACCOUNT,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=prometheus.TENANT_PROMETHEUS_ACCOUNT, namespace=namespace, labels=labels
            ),
            opts=inside,
        )
        # The operator has it discover Alertmanager through the API in this namespace (endpoints role): without
        # this grant its alerts are evaluated and never sent.
        discovery_metadata = k8s.meta.v1.ObjectMetaArgs(
            name=prometheus.ALERTMANAGER_DISCOVERY_ROLE, namespace=namespace, labels=labels
        )
        discovery_role = k8s.rbac.v1.Role(
            prometheus.ALERTMANAGER_DISCOVERY_ROLE,
            metadata=discovery_metadata,
            rules=prometheus.alertmanager_discovery_rules(),
            opts=inside,
        )
        discovery_binding = k8s.rbac.v1.RoleBinding(
            prometheus.ALERTMANAGER_DISCOVERY_ROLE,
            metadata=discovery_metadata,
            role_ref=roles.role_ref(prometheus.ALERTMANAGER_DISCOVERY_ROLE),
            subjects=roles.account_subjects(prometheus.TENANT_PROMETHEUS_ACCOUNT, settings.namespace),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, discovery_role]),
        )
        k8s.apiextensions.CustomResource(
            f"{prometheus.TENANT_PROMETHEUS}-prometheus",
            api_version=prometheus.API_VERSION,
            kind="Prometheus",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=prometheus.TENANT_PROMETHEUS, namespace=namespace, labels=labels),
            spec=prometheus.tenant_prometheus_spec(settings.tenant_prometheus, settings.namespace, self.storage_class)
            | prometheus.tenant_prometheus_image(image_mirror),
            # Its CRD comes with the CRD release, and only a running operator turns it into pods.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.namespace, self.crds, self.operator, account, discovery_binding, *self.credentials],
            ),
        )
        k8s.core.v1.Service(
            TENANT_PROMETHEUS_SERVICE,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TENANT_PROMETHEUS_SERVICE, namespace=namespace, labels=labels),
            spec=prometheus.tenant_prometheus_service_spec(),
            opts=inside,
        )
