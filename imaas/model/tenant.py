"""The tenant file (apiVersion imaas.io/v1alpha1): what a business unit writes to onboard itself."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from imaas.model.base import InputModel, Refuses, Unique
from imaas.model.names import (
    COST_CENTER_PATTERN,
    ENVIRONMENTS,
    GROUP_PATTERN,
    NAME_PATTERN,
    NO_CONTROL_CHARACTERS,
    Email,
    Environment,
    GitHubLogin,
    Lifecycle,
    ServiceName,
    TenantLifecycle,
    TenantName,
    in_canonical_order,
)
from imaas.model.quantity import ByteQuantity, CpuQuantity, PodCount, whole_number

API_VERSION = "imaas.io/v1alpha1"
SizeName = Literal["small", "medium", "large"]
DEFAULT_SERVICE_SIZE: SizeName = "small"
GroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=GROUP_PATTERN),
    # Bound as a Kubernetes group: `system:` groups are the cluster's own (system:authenticated is everyone).
    Refuses(r"^system:", "be a Kubernetes system group (system:...)"),
    # Written into the AppProject's policy, which Argo CD reads as CSV: a comma or quote breaks the line, and Argo CD
    # then drops the project's policy for its default one.
    Refuses("[,\"']", "hold commas or quotes, which Argo CD's policy CSV cannot"),
    # A group is matched literally nowhere it goes: Argo CD's policy reads `*` and `?` as globs (a group `*` is every
    # signed-in user), and Grafana's org_mapping reads `*` as every organisation and `\` as an escape (a trailing
    # one swallows the `:` that ends the group).
    Refuses(r"[*?\\]", "hold wildcards (* or ?) or backslashes, which Argo CD and Grafana read as patterns or escapes"),
    NO_CONTROL_CHARACTERS,
]
CostCenter = Annotated[str, StringConstraints(max_length=63, pattern=COST_CENTER_PATTERN)]
# What one tenant's delivery is planned and tested at: each service adds a repository with its branches, an ECR
# registry and up to three Applications to one team, one AppProject and one CI identity, and what grows with the
# services in those (the AppProject's sources, the CI trust and push policies) has to stay within its provider's limits
# at this many. Thousands in one file would pass validation and fail at `up`.
MAX_SERVICES = 50
# The most replicas one service may scale to in one environment: a tenant quota is sized in tens of pods, and a
# larger service is a case for a conversation with the platform team rather than a number in a file.
MAX_REPLICAS = 20
EnvironmentList = Annotated[list[Environment], Field(min_length=1), Unique()]
# People and groups of one tenant. Each login is a GitHub team membership the deploy reconciles one API call at a time
# (and, for someone new to the team, an e-mail), and each group a subject of the tenant's RoleBindings in every
# namespace, a line of its AppProject's policy and an entry of Grafana's org_mapping, which every tenant's entries
# share in one setting. Admin on every repository of a tenant is a few people's; a team of more than a hundred
# writers, or more than ten groups of one kind, is a case for an identity-provider group (or a second tenant), not a
# longer list.
MAX_MAINTAINERS = 10
MAX_MEMBERS = 100
MAX_GROUPS = 10


class Metadata(InputModel):
    name: TenantName = Field(description="Tenant name: 2-20 characters, lower case, digits and single dashes.")
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=80), NO_CONTROL_CHARACTERS] | None = Field(
        None, description="Human-readable name shown in dashboards."
    )
    contact: Email = Field(description="E-mail address of the team that owns the tenant.")
    cost_center: CostCenter | None = Field(None, description="Cost center; becomes a label and an AWS tag.")


class Team(InputModel):
    maintainers: Annotated[list[GitHubLogin], Field(min_length=1, max_length=MAX_MAINTAINERS), Unique()] = Field(
        description=f"GitHub logins with admin rights on the tenant's repositories (1 to {MAX_MAINTAINERS})."
    )
    members: Annotated[list[GitHubLogin], Field(max_length=MAX_MEMBERS), Unique()] = Field(
        default_factory=list,
        description=f"GitHub logins with write rights on the tenant's repositories (at most {MAX_MEMBERS}).",
    )

    @model_validator(mode="after")
    def _one_role_each(self) -> Team:
        both = sorted(set(self.maintainers) & set(self.members))
        if both:
            raise ValueError(f"{', '.join(both)} listed both as maintainer and as member")
        return self


class Access(InputModel):
    developers: Annotated[list[GroupName], Field(max_length=MAX_GROUPS), Unique()] = Field(
        default_factory=list,
        description=f"Identity-provider groups that may edit workloads (view only in prod), at most {MAX_GROUPS}.",
    )
    viewers: Annotated[list[GroupName], Field(max_length=MAX_GROUPS), Unique()] = Field(
        default_factory=list,
        description=f"Identity-provider groups that may view the tenant's namespaces, at most {MAX_GROUPS}.",
    )


class QuotaOverride(InputModel):
    cpu: CpuQuantity | None = Field(None, description='CPU requests and limits, for example "4" or "2500m".')
    memory: ByteQuantity | None = Field(None, description="Memory requests and limits, for example 8Gi.")
    pods: PodCount | None = Field(None, description="Number of pods.")
    storage: ByteQuantity | None = Field(None, description="Total persistent volume storage requested.")


class Network(InputModel):
    allow_from: Annotated[list[TenantName], Unique()] = Field(
        default_factory=list,
        description="Tenants whose workloads may call this tenant's, in the same environment.",
    )


ReplicaCount = Annotated[int, Field(ge=1, le=MAX_REPLICAS), BeforeValidator(whole_number)]


class ReplicaBounds(InputModel):
    min: ReplicaCount = Field(description="Replicas the autoscaler never goes below (at least 1).")
    max: ReplicaCount = Field(description=f"Replicas the autoscaler never goes above (at most {MAX_REPLICAS}).")

    @model_validator(mode="after")
    def _min_within_max(self) -> ReplicaBounds:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


DEFAULT_REPLICAS: dict[str, ReplicaBounds] = {
    "dev": ReplicaBounds(min=1, max=2),
    "test": ReplicaBounds(min=1, max=2),
    # Two at least, so that a node's loss or a disruption never takes prod down.
    "prod": ReplicaBounds(min=2, max=4),
}


def _defaults_of(environment: str) -> str:
    bounds = DEFAULT_REPLICAS[environment]
    return f"default {bounds.min} to {bounds.max}"


class ServiceReplicas(InputModel):
    """The autoscaler's bounds per environment; an environment left out keeps its default."""

    dev: ReplicaBounds | None = Field(None, description=f"Bounds in dev, {_defaults_of('dev')}.")
    test: ReplicaBounds | None = Field(None, description=f"Bounds in test, {_defaults_of('test')}.")
    prod: ReplicaBounds | None = Field(None, description=f"Bounds in prod, {_defaults_of('prod')}.")

    def of(self, environment: str) -> ReplicaBounds:
        return getattr(self, environment) or DEFAULT_REPLICAS[environment]

    def listed(self) -> list[str]:
        """The environments this service's file gives bounds for."""
        return [environment for environment in ENVIRONMENTS if getattr(self, environment) is not None]


class Alerting(InputModel):
    emails: Annotated[list[Email], Field(max_length=10), Unique()] = Field(
        default_factory=list,
        description="E-mail addresses that get the tenant's alerts besides `metadata.contact`, at most 10.",
    )


# A secret's name becomes part of its Secrets Manager path, of the Kubernetes Secret's name and of the variable the
# container reads it from (IMAAS_SECRET_<NAME>), so it keeps to the service name's characters.
SecretName = Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=NAME_PATTERN)]
# Each secret is an ExternalSecret and a Kubernetes Secret per environment, and a variable of the container.
MAX_SECRETS = 20
# Each connection is a rule of the service's egress policy, shown to a reviewer one by one.
MAX_CONNECTIONS = 20
MAX_PORTS = 10


def _backend_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as err:
        try:
            meant = ipaddress.ip_network(value, strict=False)
        except ValueError:
            hint = ""
        else:
            hint = f"; did you mean '{meant}'?"
        raise ValueError(
            f"must be an address range such as 10.20.0.0/16 or 10.20.4.17/32, got '{value}' ({err}){hint}"
        ) from None
    # A backend is a network of systems, not the whole address space: that is the cluster's internet setting.
    if network.prefixlen < (8 if network.version == 4 else 32):
        raise ValueError(
            f"must be a backend's network, at most /8 in IPv4 and /32 in IPv6 wide, got '{value}': the internet is "
            "the cluster's imaas:tenantEgress setting, which its operators decide"
        )
    return str(network)


BackendCidr = Annotated[str, AfterValidator(_backend_range)]
Port = Annotated[int, Field(ge=1, le=65535), BeforeValidator(whole_number)]


class Connection(InputModel):
    """A private backend a service calls: an address range and the TCP ports it listens on."""

    cidr: BackendCidr = Field(description="The backend's address range, e.g. 10.20.0.0/16 or 10.20.4.17/32.")
    ports: Annotated[list[Port], Field(min_length=1, max_length=MAX_PORTS), Unique()] = Field(
        description=f"TCP ports of the backend the service calls (1 to {MAX_PORTS})."
    )


class Service(InputModel):
    name: ServiceName = Field(description="Service name: 2-30 characters, lower case, digits and single dashes.")
    description: Annotated[str, StringConstraints(max_length=350), NO_CONTROL_CHARACTERS] | None = Field(
        None, description="One line on what the service does; becomes the repository description."
    )
    environments: EnvironmentList | None = Field(
        None, description="Environments the service runs in: a subset of the tenant's, default all of them."
    )
    visibility: Literal["private", "internal"] = Field(
        "private",
        description="GitHub repository visibility; `internal` only where the platform's organisation is owned by an "
        "enterprise account.",
    )
    lifecycle: Lifecycle = Field(
        "active", description="`retired` removes the service's Argo CD Applications and archives its repository."
    )
    size: SizeName = Field(
        DEFAULT_SERVICE_SIZE,
        description="Pod size preset (requests and limits of each pod), defined per stack (`serviceSizes`).",
    )
    replicas: ServiceReplicas = Field(
        default_factory=ServiceReplicas,
        description="Autoscaling bounds per environment the service runs in, for example `prod: {min: 2, max: 6}`.",
    )
    secrets: Annotated[list[SecretName], Field(max_length=MAX_SECRETS), Unique()] = Field(
        default_factory=list,
        description="Names of the secrets the service reads, at most "
        f"{MAX_SECRETS}: each is kept in AWS Secrets Manager at `imaas/<tenant>/<service>/<environment>/<name>`, "
        "where the tenant's people write its value (never in git), and reaches the container as the variable "
        "`IMAAS_SECRET_<NAME>` (upper case, dashes as underscores).",
    )
    egress: Annotated[list[Connection], Field(max_length=MAX_CONNECTIONS)] = Field(
        default_factory=list,
        description=f"Private backends the service calls, at most {MAX_CONNECTIONS}: each an address range outside "
        "the cluster's own and its TCP ports. Only this service's pods may reach them.",
    )
    expose: bool = Field(
        False,
        description="Publish the service over HTTPS at `<service>.<tenant>.<environment>.<ingressHostSuffix>` in "
        "each of its environments.",
    )

    @model_validator(mode="after")
    def _one_connection_per_range(self) -> Service:
        seen: set[str] = set()
        for connection in self.egress:
            if connection.cidr in seen:
                raise ValueError(
                    f"must list each address range once in egress, got {connection.cidr} more than once: give it "
                    "one entry with every port"
                )
            seen.add(connection.cidr)
        return self

    def secret_variables(self) -> dict[str, str]:
        """The container variable of each secret, by name."""
        return {name: "IMAAS_SECRET_" + name.upper().replace("-", "_") for name in self.secrets}


class TenantSpec(InputModel):
    lifecycle: TenantLifecycle = Field(
        "active",
        description="`retired` removes the tenant's Applications; namespaces and images are kept. `decommissioned` "
        "(a platform admin's, only after `retired`) has the platform forget everything of the tenant, leaving it in "
        "place, and keeps the name taken.",
    )
    team: Team = Field(description="The tenant's GitHub team.")
    access: Access = Field(default_factory=Access, description="Identity-provider groups bound in Kubernetes.")
    environments: EnvironmentList = Field(
        default_factory=lambda: list(ENVIRONMENTS), description="Environments the tenant uses, default all three."
    )
    size: SizeName = Field("small", description="Quota preset, defined per stack.")
    quota: QuotaOverride | None = Field(
        None, description="Explicit quota; each value at most the stack's `quotaMax`. Unset values come from `size`."
    )
    network: Network = Field(default_factory=Network, description="Which other tenants may call this one.")
    alerting: Alerting = Field(default_factory=Alerting, description="Who gets the tenant's alerts.")
    services: Annotated[list[Service], Field(max_length=MAX_SERVICES)] = Field(
        default_factory=list, description=f"The tenant's integration services, at most {MAX_SERVICES}."
    )


class Tenant(InputModel):
    """One business unit of the organisation, onboarded by one file in `tenants/`."""

    api_version: Literal["imaas.io/v1alpha1"] = Field(description="Always imaas.io/v1alpha1.")
    kind: Literal["Tenant"] = Field(description="Always Tenant.")
    metadata: Metadata = Field(description="Who the tenant is.")
    spec: TenantSpec = Field(description="What the tenant gets.")

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def active(self) -> bool:
        return self.spec.lifecycle == "active"

    @property
    def decommissioned(self) -> bool:
        """The platform declares nothing of the tenant any more; its file only keeps its name taken."""
        return self.spec.lifecycle == "decommissioned"

    @property
    def environments(self) -> list[str]:
        return in_canonical_order(self.spec.environments)

    def service_environments(self, service: Service) -> list[str]:
        """The environments a service runs in: its own list, or all of its tenant's."""
        return in_canonical_order(service.environments or self.spec.environments)

    def active_services(self) -> list[Service]:
        return [service for service in self.spec.services if self.active and service.lifecycle == "active"]

    def active_services_in(self, environment: str) -> list[Service]:
        """The active services that run in `environment`."""
        return [service for service in self.active_services() if environment in self.service_environments(service)]
