"""Stack settings: the `imaas:` keys of `Pulumi.<stack>.yaml`."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from imaas.model.base import InputModel, unique
from imaas.model.names import Email, Environment, GitHubLogin, KubernetesName, in_canonical_order
from imaas.model.quantity import ByteQuantity, CpuQuantity, exceeds
from imaas.model.tenant import GroupName, QuotaOverride, SizeName

CONFIG_NAMESPACE = "imaas"
AwsPrincipal = Annotated[
    str, StringConstraints(pattern=r"^([0-9]{12}|arn:aws[a-z-]*:iam::[0-9]{12}:[A-Za-z0-9+=,.@_/-]+)$")
]
TenantPattern = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9*?\[\]!-]+$")]


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as err:
        raise ValueError(f"not an address range: {err}") from None


Cidr = Annotated[str, AfterValidator(_network)]


class Quota(InputModel):
    cpu: CpuQuantity
    memory: ByteQuantity
    pods: Annotated[int, Field(ge=1)]
    storage: ByteQuantity
    ephemeral_storage: ByteQuantity = Field(
        "8Gi", description="Node-local disk (logs, emptyDir, writable layers) of all the namespace's containers."
    )

    def exceeding(self, limit: Quota) -> list[str]:
        """The fields of this quota that are above `limit`."""
        names = ("cpu", "memory", "storage", "ephemeral_storage", "pods")
        return [name for name in names if exceeds(getattr(self, name), getattr(limit, name))]

    def overridden_by(self, override: QuotaOverride | None) -> Quota:
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


# Sized for services at their default scaling (imaas.model.tenant.DEFAULT_REPLICAS) in pods of the `small` service
# size, counted as the capacity check counts them (imaas/declarations/capacity.py): every service at its maximum plus
# the one pod a rolling update adds. A `small` tenant fits three such services in every environment, with room to
# spare (tests/test_service_scaling.py holds it); the quota bounds requests and limits alike, so it is sized by the
# limits.
BUILTIN_SIZES: dict[SizeName, Quota] = {
    "small": Quota(cpu="20", memory="24Gi", pods=30, storage="10Gi", ephemeral_storage="20Gi"),
    "medium": Quota(cpu="40", memory="48Gi", pods=60, storage="50Gi", ephemeral_storage="40Gi"),
    "large": Quota(cpu="80", memory="96Gi", pods=120, storage="200Gi", ephemeral_storage="80Gi"),
}
BUILTIN_QUOTA_MAX = Quota(cpu="128", memory="192Gi", pods=250, storage="1Ti", ephemeral_storage="128Gi")


class PodResources(InputModel):
    cpu: CpuQuantity
    memory: ByteQuantity
    ephemeral_storage: ByteQuantity = Field(description="Node-local disk: logs, emptyDir and the writable layer.")

    def exceeding(self, limit: PodResources) -> list[str]:
        return [name for name in POD_RESOURCE_NAMES if exceeds(getattr(self, name), getattr(limit, name))]

    def as_kubernetes(self) -> dict[str, str]:
        """As a container's `resources.requests` or `.limits`."""
        return {"cpu": self.cpu, "memory": self.memory, "ephemeral-storage": self.ephemeral_storage}


POD_RESOURCE_NAMES = ("cpu", "memory", "ephemeral_storage")


class PodSize(InputModel):
    """What one pod of a service asks for and may use: set on its container at every sync, whatever the service's
    own manifests say, so that the platform can check that a tenant's services fit its quota."""

    requests: PodResources = Field(description="What the scheduler reserves for the pod.")
    limits: PodResources = Field(description="What the pod may use at most; the quota counts these.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> PodSize:
        over = self.requests.exceeding(self.limits)
        if over:
            raise ValueError(f"requests above limits in {', '.join(over)}")
        return self


# WSO2 Micro Integrator runs in about 1Gi (a 512 MB heap, metaspace and threads): `small` is the template's own
# sizing, and the LimitRange gives an unsized container the same.
BUILTIN_SERVICE_SIZES: dict[SizeName, PodSize] = {
    "small": PodSize(
        requests=PodResources(cpu="250m", memory="768Mi", ephemeral_storage="256Mi"),
        limits=PodResources(cpu="1", memory="1Gi", ephemeral_storage="1Gi"),
    ),
    "medium": PodSize(
        requests=PodResources(cpu="500m", memory="1536Mi", ephemeral_storage="256Mi"),
        limits=PodResources(cpu="2", memory="2Gi", ephemeral_storage="1Gi"),
    ),
    "large": PodSize(
        requests=PodResources(cpu="1", memory="3Gi", ephemeral_storage="512Mi"),
        limits=PodResources(cpu="4", memory="4Gi", ephemeral_storage="2Gi"),
    ),
}


HttpsUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https://[^\s/]+(/\S*)?$")]


Price = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=4)]


class Prices(InputModel):
    """What capacity costs a month on this cluster: the cost a pull request's comment estimates for a tenant's
    services (their pods' requests at their minimum and maximum scale)."""

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        "USD", description="ISO 4217 code the prices are in."
    )
    vcpu: Price = Field(description="One vCPU of requests for a month.")
    memory_gib: Price = Field(description="One GiB of memory requests for a month.")
    storage_gib: Price = Field(description="One GiB of (ephemeral) storage requests for a month.")


EXAMPLE_PRICES = Prices(currency="USD", vcpu=Decimal(25), memory_gib=Decimal(3), storage_gib=Decimal("0.1"))
"""Where a cluster states no prices: round figures near on-demand general-purpose nodes and gp3 volumes in one AWS
region, an example to be replaced by the organisation's own (comments label costs from it as an example)."""


# An exact chart version: a range or a tag would let an update change what a preview showed. cert-manager's chart
# repository tags its releases with a leading `v`.
ChartVersion = Annotated[str, StringConstraints(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+$")]
# The charts a stack may pin another version of, or give values to (imaas/declarations/charts.py, CHARTS, each by its
# `setting`; a test keeps the two equal).
ChartName = Literal[
    "prometheusOperatorCrds",
    "kubePrometheusStack",
    "loki",
    "fluentBit",
    "tempo",
    "opentelemetryCollector",
    "argocd",
    "metricsServer",
    "externalSecrets",
    "certManager",
]
V_TAGGED_CHARTS: frozenset[ChartName] = frozenset({"certManager"})
# The most collector replicas chartValues.opentelemetryCollector.replicaCount may ask for (the bound its own setting
# had before chartValues).
MAX_COLLECTOR_REPLICAS = 20
# What a cluster may run already instead of having the stack install it (imaas:preinstalled).
Addon = Literal["argocd", "metricsServer", "externalSecrets", "certManager"]


IamRoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+$")]


class TraceBucket(InputModel):
    """An S3 bucket for trace blocks, which outlives the cluster, made by the platform team (versioning on, no
    public access)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = Field(
        description="The bucket's name."
    )
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")] = Field(
        description="The bucket's region."
    )
    role_arn: IamRoleArn = Field(
        description="The IAM role (IRSA or EKS Pod Identity) that Tempo's service account assumes, allowed "
        "s3:ListBucket, GetObject, PutObject and DeleteObject on the bucket alone."
    )


class TempoSettings(InputModel):
    storage: ByteQuantity = Field(
        "20Gi",
        description="Tempo's persistent volume: its write-ahead log, and the trace blocks themselves without a bucket.",
    )
    bucket: TraceBucket | None = Field(None, description="Where Tempo keeps trace blocks instead of its volume.")


class ArgoCdSettings(InputModel):
    applications: Annotated[int, Field(ge=1, le=100_000)] = Field(
        1000,
        description="The Applications this cluster's Argo CD is expected to hold (every active service's, per "
        "environment the cluster hosts): its controller's processors, kubectl parallelism, repo-server replicas "
        "and reconciliation period are sized from it (imaas/declarations/argocd.py, after Argo CD's high-availability "
        "guidance), never from the tenant files. Controller shards split clusters, not Applications: one cluster's "
        "Applications are all on one controller.",
    )
    webhook_url: HttpsUrl | None = Field(
        None,
        description="Argo CD's public address where GitHub can reach it: one organisation webhook then tells Argo "
        "CD of every push, and the reconciliation period can be long; with the secret argocdWebhookSecret.",
    )


# Every private (RFC 1918), shared (RFC 6598) and unique-local IPv6 range: what no tenant pod reaches as "the
# internet", whichever of them the cluster uses; a backend in one is reached through a service's `egress` only.
DEFAULT_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


class TenantEgress(InputModel):
    """Where tenant pods may connect beyond the cluster, their peers and their services' declared backends."""

    internet: Literal["open", "closed"] = Field(
        "closed",
        description="`open`: every public address (outside `privateRanges` and `clusterCidrs`); `closed`: only "
        "the ranges of `allowList`. Closed by default: an integration's data leaves only for what the cluster's "
        "owners allowed (a name-based allow-list needs a CNI extension or an egress proxy).",
    )
    allow_list: Annotated[list[Cidr], AfterValidator(unique)] = Field(
        default_factory=list,
        description="Public ranges every tenant pod may reach when `internet` is closed.",
    )
    private_ranges: Annotated[list[Cidr], Field(min_length=1), AfterValidator(unique)] = Field(
        default_factory=lambda: list(DEFAULT_PRIVATE_RANGES),
        description="Ranges that are never the internet: reached only through a service's `egress`.",
    )

    @model_validator(mode="after")
    def _allow_list_when_closed(self) -> TenantEgress:
        if self.allow_list and self.internet == "open":
            raise ValueError("allowList is for internet: closed (open already reaches every public address)")
        for cidr in self.allow_list:
            inside = [r for r in self.private_ranges if ipaddress.ip_network(r).overlaps(ipaddress.ip_network(cidr))]
            if inside:
                raise ValueError(
                    f"allowList: {cidr} overlaps the private range {inside[0]}: a private backend is a service's "
                    "egress, not every tenant's"
                )
        return self


OidcProviderArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/\S+$")]


class SecretWriters(InputModel):
    """How a tenant's own people reach AWS to write its secrets' values: IAM trust policies cannot test group
    membership, so the identity provider decides who is in the tenant's groups, by one of two mechanisms."""

    mechanism: Literal["identityCenter", "roleMapping"] = Field(
        description="`identityCenter`: a permission set per tenant and environment, assigned to the tenant's "
        "`access.developers` groups in `accountId`; `roleMapping`: an IAM role per tenant and environment trusting "
        "the SAML provider `samlProviderArn`, to which the identity provider maps the tenant's groups."
    )
    instance_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sso:::instance/\S+$")] | None = Field(
        None, description="The IAM Identity Center instance (identityCenter)."
    )
    identity_store_id: Annotated[str, StringConstraints(pattern=r"^d-[0-9a-f]{10}$|^[0-9a-f-]{36}$")] | None = Field(
        None, description="Its identity store, where the tenant's groups are found by display name (identityCenter)."
    )
    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")] | None = Field(
        None, description="The account of this cluster's secrets, where the permission sets are assigned."
    )
    saml_provider_arn: (
        Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:saml-provider/\S+$")] | None
    ) = Field(None, description="The identity provider's SAML provider in IAM (roleMapping).")

    @model_validator(mode="after")
    def _what_the_mechanism_needs(self) -> SecretWriters:
        needed = (
            {"instanceArn": self.instance_arn, "identityStoreId": self.identity_store_id, "accountId": self.account_id}
            if self.mechanism == "identityCenter"
            else {"samlProviderArn": self.saml_provider_arn}
        )
        missing = [key for key, value in needed.items() if value is None]
        if missing:
            raise ValueError(f"{self.mechanism} needs {', '.join(missing)}")
        return self


class TenantSecrets(InputModel):
    """Tenant secrets: kept in AWS Secrets Manager, synced into tenant namespaces by External Secrets Operator."""

    oidc_provider_arn: OidcProviderArn = Field(
        description="The cluster's IAM OIDC provider (IRSA): each tenant namespace's secret store authenticates as "
        "its own IAM role, trusted for that namespace's store account only."
    )
    writers: SecretWriters = Field(description="How the tenants' people write their secrets' values.")

    @property
    def oidc_issuer(self) -> str:
        """The issuer (host and path, no scheme) the provider's ARN names, as IAM's condition keys spell it."""
        return self.oidc_provider_arn.split(":oidc-provider/", 1)[1]


# The shared Gateway of exposed services, in a namespace of the platform's own.
GATEWAY_NAMESPACE = "imaas-gateway"
GATEWAY_NAME = "imaas-tenants"
GATEWAY_API_VERSION = "v1.5.1"
"""The Gateway API CRDs (standard channel) the cluster must have: ListenerSet is standard from v1.5 (`imaas preflight`
reads the CRDs' bundle-version)."""


class ExposureSettings(InputModel):
    """How services with `expose: true` are published: the Gateway API, one shared Gateway of the cluster and a
    ListenerSet per tenant namespace holding that tenant's hosts and certificates."""

    gateway_class_name: KubernetesName = Field(
        description="The GatewayClass of the cluster's Gateway controller (its implementation of the Gateway API "
        "with ListenerSet support)."
    )
    cluster_issuer: KubernetesName = Field(
        description="The cert-manager ClusterIssuer of every exposed service's certificate (one per host: HTTP-01 "
        "or DNS-01 both work)."
    )


class TenantPrometheusSettings(InputModel):
    """The Prometheus that scrapes tenant namespaces only, apart from the platform's own."""

    retention: Annotated[str, StringConstraints(pattern=r"^([0-9]+(y|w|d|h|m|s|ms))+$")] = Field(
        "15d", description="How long tenant metrics are kept."
    )
    storage: ByteQuantity = Field("20Gi", description="Its persistent volume.")


DnsSuffix = Annotated[
    str, StringConstraints(max_length=200, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
]
EcrRegistry = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{12}\.dkr\.ecr\.[a-z]{2}(-[a-z]+)+-[0-9]\.amazonaws\.com(\.cn)?$")
]
# ECR's own pattern for a pull-through cache rule's ecrRepositoryPrefix (2 to 30 characters, path segments).
EcrPrefix = Annotated[
    str,
    StringConstraints(
        min_length=2, max_length=30, pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
    ),
]
# The prefixes commonly given to the upstream registries ECR caches (the console suggests most of them).
DEFAULT_PULL_THROUGH_PREFIXES = ("docker-hub", "ecr-public", "quay", "ghcr", "github", "k8s", "azure", "gitlab")
# An image pinned by tag or digest: a bare repository would admit every tag anyone pushes to it later.
ImageReference = Annotated[
    str,
    StringConstraints(
        max_length=512,
        pattern=r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$",
    ),
]


# A StorageClass name: a DNS subdomain (metadata.name of a cluster-scoped object).
StorageClassName = Annotated[
    str, StringConstraints(max_length=253, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
]

# A registry's host name, and where its images are mirrored: `<registry host>/<path>` (an ECR pull-through cache
# rule's prefix, `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`).
RegistryHost = Annotated[str, StringConstraints(max_length=253, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?$")]
MirrorPrefix = Annotated[
    str, StringConstraints(max_length=255, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)+$")
]
# The registries the platform's images come from (imaas/declarations/images.py, platform_registries; a test keeps the
# two equal): an image mirror must name a mirror for each.
PLATFORM_IMAGE_REGISTRIES = frozenset(
    {"docker.io", "quay.io", "registry.k8s.io", "ghcr.io", "cr.fluentbit.io", "ecr-public.aws.com"}
)
# Grafana splits org_mapping, allowed_groups and scopes on spaces and commas: a group holding either cannot be mapped.
GrafanaGroup = Annotated[GroupName, StringConstraints(pattern=r"^[^\s,]+$")]


class GrafanaOidc(InputModel):
    """The identity provider Grafana signs users in with (Grafana's generic OAuth), whose group claim holds the
    tenants' `access` groups; its client secret is `imaas:grafanaOidcClientSecret`."""

    client_id: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S+$")] = Field(
        description="The OAuth client id registered for Grafana."
    )
    auth_url: HttpsUrl = Field(description="The provider's authorisation endpoint.")
    token_url: HttpsUrl = Field(description="The provider's token endpoint.")
    api_url: HttpsUrl = Field(description="The provider's user-info endpoint.")
    scopes: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9:._/-]+$")]], Field(min_length=1)] = (
        Field(default_factory=lambda: ["openid", "profile", "email", "groups"], description="Scopes Grafana asks for.")
    )
    groups_attribute_path: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        "groups", description="JMESPath of the groups claim in the ID token or user info."
    )


class GrafanaSettings(InputModel):
    """Grafana's tenancy: an organisation per tenant, kept in step by an in-cluster job, and sign-in mapped from the
    tenants' identity-provider groups."""

    root_url: HttpsUrl | None = Field(
        None, description="Grafana's public address (server.root_url), which the provider redirects back to."
    )
    oidc: GrafanaOidc | None = Field(
        None, description="Sign-in through the identity provider; without it only the admin account can sign in."
    )
    admin_groups: Annotated[list[GrafanaGroup], AfterValidator(unique)] = Field(
        default_factory=list,
        description="Identity-provider groups of the platform admins: Admin of Grafana's main organisation, the only "
        "one holding the platform's data sources and dashboards, and of no tenant's.",
    )
    storage: ByteQuantity = Field(
        "10Gi", description="Grafana's volume: its database of organisations, users and tenants' own dashboards."
    )


HostPort = Annotated[str, StringConstraints(max_length=255, pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]


class AlertingSettings(InputModel):
    smarthost: HostPort = Field(description="The mail relay, `host:port` (STARTTLS is required).")
    from_: Email = Field(alias="from", description="The sender address of alert e-mails.")
    auth_username: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = Field(
        None, description="The relay's user name; its password is the secret alertmanagerSmtpPassword."
    )


PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
Port = Annotated[int, Field(ge=1, le=65535)]


class ObservabilityNetwork(InputModel):
    """What the observability namespace's NetworkPolicies must name by address: the API server and the nodes are
    not pods, so no pod or namespace selector reaches them (docs/isolation.md, "The observability namespace")."""

    api_server_cidrs: Annotated[list[Cidr], Field(min_length=1), AfterValidator(unique)] = Field(
        default_factory=lambda: list(PRIVATE_RANGES),
        description="Where the Kubernetes API server answers, as the pods' packets see it after the `kubernetes` "
        "Service's address is translated: on EKS the cluster VPC's CIDR (the control plane's network interfaces "
        "are placed in the cluster's subnets). The default, every private range, works anywhere but is wide.",
    )
    api_server_ports: Annotated[list[Port], Field(min_length=1), AfterValidator(unique)] = Field(
        default_factory=lambda: [443],
        description="The API server's ports at those addresses (EKS: 443; kubeadm: 6443).",
    )
    node_cidrs: Annotated[list[Cidr], Field(min_length=1), AfterValidator(unique)] = Field(
        default_factory=lambda: list(PRIVATE_RANGES),
        description="The nodes' addresses, where the platform's Prometheus scrapes the kubelets and the node "
        "exporters (host network): on EKS the VPC's CIDR.",
    )
    ingress_namespace: KubernetesName = Field(
        "ingress-nginx", description="The namespace of the ingress controller that serves Grafana."
    )


class ObservabilitySettings(InputModel):
    enabled: bool = Field(True, description="Declare the shared observability stack on this stack's cluster.")
    namespace: KubernetesName = Field("observability", description="Namespace of the observability stack.")
    tenant_prometheus: TenantPrometheusSettings = Field(default_factory=TenantPrometheusSettings)
    tempo: TempoSettings = Field(default_factory=TempoSettings)
    alerting: AlertingSettings | None = Field(
        None,
        description="The mail relay through which Alertmanager sends each tenant's alerts to its contact; without it, "
        "alerts are evaluated but sent nowhere. The relay's password is the secret alertmanagerSmtpPassword.",
    )
    grafana: GrafanaSettings = Field(default_factory=GrafanaSettings)
    network: ObservabilityNetwork = Field(default_factory=ObservabilityNetwork)
    argocd: ArgoCdSettings = Field(default_factory=ArgoCdSettings)


class GithubApp(InputModel):
    app_id: Annotated[int, Field(ge=1)] = Field(description="The GitHub App's id (its settings page: App ID).")
    installation_id: Annotated[int, Field(ge=1)] = Field(
        description="The id of its installation on the organisation (the installation page's URL ends with it)."
    )


SoakMinutes = Annotated[int, Field(ge=0, le=10_080)]


def _default_soak() -> dict[Environment, int]:
    return {"dev": 15, "test": 60}


class PromotionSettings(InputModel):
    """The promotion gate: the commit status the test and prod branches of every service repository require, posted
    by an in-cluster program as a GitHub App of the platform's own (imaas/incluster/promotion_gate.py)."""

    github_app: GithubApp | None = Field(
        None,
        description="The gate's GitHub App, installed on the organisation with commit statuses (write), pull "
        "requests and contents (read): the rulesets accept the gate's status from this App alone; with "
        "promotionGatePrivateKey. Required on the stack that owns the global resources (it declares the rulesets) "
        "and on a stack hosting dev or test (it runs the gate).",
    )
    soak_minutes: dict[Environment, SoakMinutes] = Field(
        default_factory=_default_soak,
        description="How long a commit runs synced, healthy and without alerts in an environment before it may be "
        "promoted out of it (dev into test, test into prod), in minutes, per environment promoted from.",
    )


def _not_a_tenant_deployer(name: str) -> str:
    # Exempting a deployer account would exempt every tenant: Argo CD writes as each namespace's one.
    if name.endswith(":argocd-deployer") or not name.strip():
        raise ValueError("must be the platform's own identity, not a tenant's deployer account")
    return name


PlatformIdentity = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_not_a_tenant_deployer)
]


class ServiceGuide(InputModel):
    """What each service repository's guide (in its `IMAAS_SERVICE` variable) tells the service's team on day two: where
    its Argo CD and Grafana are per environment, how to get cluster access, where its tenant file lives."""

    argocd_urls: dict[Environment, HttpsUrl] = Field(
        default_factory=dict, description="Argo CD's web address per environment (each cluster's)."
    )
    grafana_urls: dict[Environment, HttpsUrl] = Field(
        default_factory=dict, description="Grafana's web address per environment (each cluster's)."
    )
    cluster_access_url: HttpsUrl | None = Field(
        None, description="The page that tells a tenant team how to get access to the clusters (SSO, kubeconfig)."
    )
    platform_repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = Field(
        "imaas", description="The repository (under github:owner) holding tenants/, where tenant files change."
    )


class StackSettings(InputModel):
    environments: Annotated[list[Environment], Field(min_length=1), AfterValidator(unique)] = Field(
        description="Environments hosted by this stack's cluster."
    )
    owns_global_resources: bool = Field(
        False,
        description="This stack creates the GitHub teams and repositories, ECR repositories and CI roles of the "
        "tenants it manages; for each tenant exactly one stack does.",
    )
    owns_shared_resources: bool | None = Field(
        None,
        description="This stack creates what all tenants share: the GitHub OIDC provider and the service template "
        "repository. Exactly one stack does; default: ownsGlobalResources.",
    )
    tenants_dir: Annotated[str, StringConstraints(min_length=1)] = Field(
        "tenants", description="Where tenant files are."
    )
    sizes: dict[SizeName, Quota] = Field(
        default_factory=lambda: dict(BUILTIN_SIZES),
        description="Quota per size name; unset names keep the built-in small, medium and large.",
    )
    quota_max: Quota = Field(BUILTIN_QUOTA_MAX, description="The largest quota a tenant may ask for.")
    service_guide: ServiceGuide = Field(
        default_factory=ServiceGuide,
        description="What the service repositories' day-two guide (IMAAS_SERVICE's `guide`) tells their teams "
        "(the stack owning global resources declares it).",
    )
    prices: Prices | None = Field(
        None,
        description="What a vCPU, a GiB of memory and a GiB of storage cost a month on this cluster, for the cost "
        "estimates of pull-request comments; unset, an example price table, labelled as such.",
    )
    service_sizes: dict[SizeName, PodSize] = Field(
        default_factory=lambda: dict(BUILTIN_SERVICE_SIZES),
        description="Pod requests and limits per service size name (a service's `size`), limits within "
        "`quotaMax`; unset names keep the built-in small, medium and large.",
    )
    argocd_namespace: KubernetesName = Field("argocd", description="Where AppProjects and Applications live.")
    platform_namespaces: Annotated[list[KubernetesName], AfterValidator(unique)] = Field(
        default_factory=lambda: ["ingress-nginx", "observability"],
        description="Namespaces allowed to reach tenant pods.",
    )
    cluster_cidrs: Annotated[list[Cidr], Field(min_length=1), AfterValidator(unique)] = Field(
        default_factory=lambda: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        description="Pod and service address ranges of the cluster: tenant egress reaches them only as policies allow.",
    )
    storage_class: StorageClassName | None = Field(
        None,
        description="The StorageClass of every volume the platform declares: Loki's, Tempo's, Grafana's and the "
        "tenants' Prometheus's (imaas/declarations/storage.py maps it chart by chart). Unset: the cluster's "
        "default class, which `imaas preflight` checks exists (EKS from 1.30 on has none, nor an EBS CSI driver, "
        "unless added).",
    )
    ecr_pull_principals: Annotated[list[AwsPrincipal], AfterValidator(unique)] = Field(
        default_factory=list, description="AWS accounts or principal ARNs allowed to pull images."
    )
    github_members: list[GitHubLogin] | None = Field(
        None,
        description="The logins of the GitHub organisation's members, when the stack states them: validate then "
        "refuses a tenant that names anyone else, whom the platform would invite into the organisation and give "
        "access to the tenant's repositories (and, through them, to other tenants' internal ones).",
    )
    github_enterprise: bool = Field(
        False,
        description="The GitHub organisation is owned by an enterprise account, the only kind that has internal "
        "repositories: only then may services ask for `visibility: internal`.",
    )
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)
    promotion_gate_private_key: SecretStr | None = Field(
        None, description="The promotion gate App's private key (PEM), set with `pulumi config set --secret`."
    )
    grafana_oidc_client_secret: SecretStr | None = Field(
        None, description="Grafana's OAuth client secret (observability.grafana.oidc), set with --secret."
    )
    argocd_webhook_secret: SecretStr | None = Field(
        None,
        description="The organisation webhook's secret (observability.argocd.webhookUrl), also Argo CD's "
        "`webhook.github.secret`, set with --secret.",
    )
    alertmanager_smtp_password: SecretStr | None = Field(
        None,
        description="The mail relay's password (observability.alerting.authUsername), set with `pulumi config set "
        "--secret alertmanagerSmtpPassword`.",
    )
    observability_credential_key: SecretStr | None = Field(
        None,
        description="The key every credential of the observability stores is derived from (HMAC per store and "
        "client): 32 random bytes or more, set with `pulumi config set --secret observabilityCredentialKey "
        '"$(openssl rand -base64 48)"`; required with observability.enabled. Changing it changes every credential.',
    )
    template_repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = Field(
        "imaas-service-template", description="The platform's service template repository."
    )
    github_oidc_provider_arn: (
        Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/\S+$")] | None
    ) = Field(None, description="An existing GitHub OIDC provider in IAM; by default the owning stack creates one.")
    iam_role_quota: Annotated[int, Field(ge=1, le=10_000)] = Field(
        1000,
        description="IAM roles the AWS account of the CI roles may hold (AWS's default quota is 1,000): each active "
        "service has one, and validate refuses a stack that would need more.",
    )
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    chart_versions: dict[ChartName, ChartVersion] = Field(
        default_factory=dict,
        description="Per chart, an exact version of its repository to install instead of the one the platform pins "
        "(imaas/declarations/charts.py): to try an upgrade on one cluster before the others.",
    )
    chart_values: dict[ChartName, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per chart, values merged over the platform's own (mappings merge, the rest replaces).",
    )
    tenant_selector: Annotated[list[TenantPattern], Field(min_length=1)] = Field(
        default_factory=lambda: ["*"], description="Tenant names or globs this stack manages."
    )
    ingress_host_suffix: DnsSuffix = Field(
        description="The DNS zone of tenant Ingress hosts: a tenant's hosts in an environment are "
        "`<name>.<tenant>.<environment>.<suffix>`, and the cluster refuses any other."
    )
    ecr_registry: EcrRegistry = Field(
        description="The ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`) holding the tenants' "
        "repositories: the cluster runs a tenant's containers only from `<registry>/<tenant>/`."
    )
    ecr_pull_through_prefixes: Annotated[list[EcrPrefix], AfterValidator(unique)] = Field(
        default_factory=lambda: list(DEFAULT_PULL_THROUGH_PREFIXES),
        description="The repository prefixes of the registry's ECR pull-through cache rules (`<prefix>/<upstream "
        "image>`): no tenant may be named as a prefix's first segment, or the cache's copies of public images would "
        "sit under the tenant's registry path `<registry>/<tenant>/`, which its pods and CI role may use. List every "
        "rule the registry has; the default reserves the usual ones whether or not they exist.",
    )
    image_allow_list: Annotated[list[ImageReference], AfterValidator(unique)] = Field(
        default_factory=list,
        description="Exact image references (with a tag or digest) any tenant may run besides its own registry "
        "path, for images pulled at run time rather than built into the tenant's own.",
    )
    platform_identities: Annotated[list[PlatformIdentity], AfterValidator(unique)] = Field(
        default_factory=list,
        description="Kubernetes user names as which this stack's `pulumi up` writes to the cluster: the platform's "
        "own monitoring objects in tenant namespaces are exempt from the admission policies for them alone.",
    )
    preinstalled: Annotated[list[Addon], AfterValidator(unique)] = Field(
        default_factory=list,
        description="The add-ons this cluster runs already, which the stack then does not install from their pinned "
        "charts: `argocd` (its CRDs in place; this stack's AppProjects and Applications are for it, which must sync "
        "with impersonation, argocdImpersonation), `metricsServer` (the EKS add-on, a distribution's own), "
        "`externalSecrets` (External Secrets Operator, its CRDs at external-secrets.io/v1) and `certManager`.",
    )
    tenant_egress: TenantEgress = Field(default_factory=TenantEgress)
    tenant_secrets: TenantSecrets | None = Field(
        None, description="Where tenant secrets come from. Required once a tenant declares secrets."
    )
    exposure: ExposureSettings | None = Field(
        None, description="How exposed services are published. Required once a tenant exposes a service."
    )
    image_mirror: dict[RegistryHost, MirrorPrefix] = Field(
        default_factory=dict,
        description="Where the platform's own images are pulled from instead of their registries: per upstream "
        "registry host, a mirror prefix (an ECR pull-through cache rule's, `<account>.dkr.ecr.<region>."
        "amazonaws.com/<prefix>`). Set, every chart image, the tenants' Prometheus and the Grafana job and metrics "
        "proxy images are rewritten to it, and it must name every registry they come from. Unset, images are "
        "pulled from their registries (anonymously from Docker Hub, whose pull limits apply).",
    )
    cluster_kind: Literal["eks", "generic"] = Field(
        "generic",
        description="What runs the cluster's control plane: `eks` where AWS runs it, so that etcd, the scheduler, "
        "the controller manager and kube-proxy's metrics cannot be scraped and kube-prometheus-stack's monitors of "
        "them are off; `generic` keeps the chart's defaults.",
    )
    argocd_impersonation: bool = Field(
        False,
        description="The cluster's own Argo CD syncs with impersonation on (`application.sync.impersonation.enabled`"
        "), so tenant projects sync as their namespaces' deployer accounts; required where `preinstalled` lists "
        "argocd (the Argo CD the stack installs turns it on itself).",
    )

    @field_validator("environments")
    @classmethod
    def _promotion_order(cls, environments: list[str]) -> list[str]:
        return in_canonical_order(environments)

    @field_validator("sizes")
    @classmethod
    def _with_builtin_sizes(cls, sizes: dict[SizeName, Quota]) -> dict[SizeName, Quota]:
        return {**BUILTIN_SIZES, **sizes}

    @field_validator("service_sizes")
    @classmethod
    def _service_sizes_within_max(cls, sizes: dict[SizeName, PodSize], info: ValidationInfo) -> dict[SizeName, PodSize]:
        # A pod above quotaMax fits no tenant's quota (nor its LimitRange's container maximum).
        sizes = {**BUILTIN_SERVICE_SIZES, **sizes}
        quota_max = info.data.get("quota_max")
        if quota_max is not None:
            largest = PodResources(
                cpu=quota_max.cpu, memory=quota_max.memory, ephemeral_storage=quota_max.ephemeral_storage
            )
            for name, size in sizes.items():
                over = size.limits.exceeding(largest)
                if over:
                    raise ValueError(f"service size {name} has limits above quotaMax in {', '.join(over)}")
        return sizes

    @field_validator("chart_versions")
    @classmethod
    def _tagged_as_their_repositories_tag(cls, versions: dict[ChartName, str]) -> dict[ChartName, str]:
        for name, version in versions.items():
            if version.startswith("v") != (name in V_TAGGED_CHARTS):
                tagged = "with" if name in V_TAGGED_CHARTS else "without"
                raise ValueError(f"{name}: {version} is not a version of its repository, which tags them {tagged} a v")
        return versions

    @field_validator("chart_values")
    @classmethod
    def _one_loki(cls, values: dict[ChartName, dict[str, Any]]) -> dict[ChartName, dict[str, Any]]:
        # Loki listens on loopback behind its credential proxy, its rings in memory
        # (imaas/declarations/store_clients.py): a second replica would find no ring to join.
        single_binary = values.get("loki", {}).get("singleBinary")
        replicas = single_binary.get("replicas", 1) if isinstance(single_binary, dict) else 1
        if replicas != 1:
            raise ValueError(
                f"loki.singleBinary.replicas must be 1, got {replicas}: Loki keeps its rings in memory behind its "
                "credential proxy, which one replica only can hold"
            )
        return values

    @field_validator("chart_values")
    @classmethod
    def _collector_replicas(cls, values: dict[ChartName, dict[str, Any]]) -> dict[ChartName, dict[str, Any]]:
        # The collector routes every tenant's traces: none running drops them all, and a count the chart cannot
        # read fails only at `up`, after everything before it has changed.
        collector = values.get("opentelemetryCollector", {})
        if "replicaCount" not in collector:
            return values
        replicas = collector["replicaCount"]
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_COLLECTOR_REPLICAS:
            raise ValueError(
                f"opentelemetryCollector.replicaCount must be a whole number from 1 to {MAX_COLLECTOR_REPLICAS}, got "
                f"{replicas!r}: the collector carries every tenant's traces"
            )
        return values

    @model_validator(mode="after")
    def _smtp_user_with_its_password(self) -> StackSettings:
        alerting = self.observability.alerting
        user = alerting is not None and alerting.auth_username is not None
        if user != (self.alertmanager_smtp_password is not None):
            raise ValueError(
                "observability.alerting.authUsername and alertmanagerSmtpPassword are set together or not at all"
            )
        return self

    @model_validator(mode="after")
    def _alerts_sent_as_a_platform_identity(self) -> StackSettings:
        # The tenant namespaces' admission refuses AlertmanagerConfig objects to everyone but these identities.
        if self.observability.alerting is not None and not self.platform_identities:
            raise ValueError(
                "observability.alerting needs platformIdentities: the platform declares an AlertmanagerConfig in "
                "each tenant namespace, which the cluster admits from those identities only"
            )
        return self

    @property
    def shares(self) -> bool:
        """Whether this stack declares the resources all tenants share."""
        return self.owns_global_resources if self.owns_shared_resources is None else self.owns_shared_resources

    @model_validator(mode="after")
    def _shared_resources_need_an_owner(self) -> StackSettings:
        if self.shares and not self.owns_global_resources:
            raise ValueError("ownsSharedResources needs ownsGlobalResources")
        if self.owns_global_resources and not self.shares and not self.github_oidc_provider_arn:
            raise ValueError("a stack that owns global but not shared resources needs githubOidcProviderArn")
        return self

    @model_validator(mode="after")
    def _promotion_app_with_its_key(self) -> StackSettings:
        if (self.promotion.github_app is None) != (self.promotion_gate_private_key is None):
            raise ValueError("promotion.githubApp and promotionGatePrivateKey are set together or not at all")
        return self

    @model_validator(mode="after")
    def _argocd_webhook_with_its_secret(self) -> StackSettings:
        if (self.observability.argocd.webhook_url is None) != (self.argocd_webhook_secret is None):
            raise ValueError("observability.argocd.webhookUrl and argocdWebhookSecret are set together or not at all")
        return self

    @model_validator(mode="after")
    def _grafana_oidc_with_its_secret(self) -> StackSettings:
        if (self.observability.grafana.oidc is None) != (self.grafana_oidc_client_secret is None):
            raise ValueError("observability.grafana.oidc and grafanaOidcClientSecret are set together or not at all")
        return self

    @model_validator(mode="after")
    def _sizes_within_max(self) -> StackSettings:
        for name, quota in self.sizes.items():
            over = quota.exceeding(self.quota_max)
            if over:
                raise ValueError(f"size {name} is above quotaMax in {', '.join(over)}")
        return self

    @model_validator(mode="after")
    def _mirror_for_every_registry(self) -> StackSettings:
        missing = sorted(PLATFORM_IMAGE_REGISTRIES - set(self.image_mirror)) if self.image_mirror else []
        if missing:
            raise ValueError(
                f"imageMirror names no mirror for {', '.join(missing)}: the platform's images come from "
                f"{', '.join(sorted(PLATFORM_IMAGE_REGISTRIES))}, and each must come through the mirror once one is set"
            )
        return self

    @model_validator(mode="after")
    def _argocd_impersonates(self) -> StackSettings:
        # Without impersonation Argo CD syncs as its own controller, which may write any kind in any namespace:
        # the AppProject's destinations and the deployer's role would fence nothing.
        if not self.installs("argocd") and not self.argocd_impersonation:
            raise ValueError(
                "argocdImpersonation: the cluster's Argo CD must sync with impersonation on "
                '(application.sync.impersonation.enabled: "true" in argocd-cm); say so with '
                "imaas:argocdImpersonation: true, or let the stack install Argo CD (argocd not in imaas:preinstalled)"
            )
        return self

    @model_validator(mode="after")
    def _impersonation_of_the_clusters_own_argocd(self) -> StackSettings:
        # argocdImpersonation describes an Argo CD the cluster runs already. Set without it in `preinstalled`, the
        # stack would install a second Argo CD next to that one: a stack file of the time before `preinstalled`
        # that said only argocdImpersonation is refused here, not upgraded silently.
        if self.installs("argocd") and self.argocd_impersonation:
            raise ValueError(
                "argocdImpersonation: says the cluster runs its own Argo CD, which imaas:preinstalled does not list: "
                "add argocd to imaas:preinstalled, or drop argocdImpersonation to let the stack install Argo CD (with "
                "impersonation on)"
            )
        return self

    @model_validator(mode="after")
    def _allow_list_outside_the_cluster(self) -> StackSettings:
        for cidr in self.tenant_egress.allow_list:
            for own in self.cluster_cidrs:
                if ipaddress.ip_network(own).overlaps(ipaddress.ip_network(cidr)):
                    raise ValueError(f"tenantEgress.allowList: {cidr} overlaps the cluster's own range {own}")
        return self

    def installs(self, addon: Addon) -> bool:
        """Whether the stack installs `addon`, which the cluster does not run already."""
        return addon not in self.preinstalled

    @property
    def price_table(self) -> Prices:
        """The cluster's prices, or the example ones where it states none (`prices` unset)."""
        return self.prices or EXAMPLE_PRICES

    def quota_for(self, size: SizeName, override: QuotaOverride | None) -> Quota:
        return self.sizes[size].overridden_by(override)

    def hosted(self, environments: list[str]) -> list[str]:
        """Those of `environments` that this stack's cluster hosts."""
        return [environment for environment in environments if environment in self.environments]

    def manages(self, tenant: str) -> bool:
        return any(fnmatchcase(tenant, pattern) for pattern in self.tenant_selector)

    def reserved_namespaces(self) -> set[str]:
        """Namespaces the platform itself uses, which no tenant may take."""
        return {
            self.argocd_namespace,
            self.observability.namespace,
            *self.platform_namespaces,
            GATEWAY_NAMESPACE,
            "external-secrets",
            "cert-manager",
        }
