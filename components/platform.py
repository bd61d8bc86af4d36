"""The platform on one stack (DESIGN section 3). On a cluster's shared stack: the cluster's admission policies for
tenant namespaces, its shared observability stack (and Argo CD and metrics-server, where the cluster has none, Argo
CD's webhook and the promotion gate) and, on the cluster owning shared resources, the delivery foundation (the GitHub
OIDC provider, the service template, the organisation's rulesets and the custom properties they target). Nothing of
it depends on which tenants exist. On a tenant stack: that tenant's resources, under the same component tree and
names, with its configuration object for the shared releases and, per service repository this cluster's Argo CD
reads, a read-only deploy key of this cluster's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.admission_policies import AdmissionPolicies
from components.argocd_install import ArgoCd, ArgoCdArgs
from components.argocd_webhook import declare_argocd_webhook
from components.delivery_context import DeliveryContext, GlobalContext
from components.delivery_foundation import DeliveryFoundation, FoundationArgs
from components.metrics_server import MetricsServer, MetricsServerArgs
from components.observability import Observability, ObservabilityArgs, ObservabilityContext
from components.promotion_gate import PromotionGate
from components.runtime_operators import CertManager, ExternalSecrets, declare_gateway
from components.tenant import TenantArgs, TenantResources
from imaas.declarations import charts, delivery, isolation, naming, promotion, types
from imaas.declarations.store_limits import OBSERVABILITY_LIMITS
from imaas.inputs.stack_file import StackName
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

# GitHub asks integrations to wait at least a second between writes and answers bursts with secondary rate
# limits; the provider serialises requests and retries transient errors rather than failing an apply halfway.
GITHUB_WRITE_DELAY_MS = 1000
GITHUB_RETRY_DELAY_MS = 2000
GITHUB_MAX_RETRIES = 3
GITHUB_RETRYABLE_ERRORS = [500, 502, 503, 504]
# GitHub fills a repository generated from a template asynchronously: for a while after its creation, reading its
# branches answers 404 or 409 ("Git Repository is empty"). Branches of new repositories go through a provider that
# waits that out; everything else keeps failing fast on a 404.
GITHUB_BRANCH_RETRYABLE_ERRORS = [404, 409, *GITHUB_RETRYABLE_ERRORS]
GITHUB_BRANCH_MAX_RETRIES = 10
GITHUB_BRANCH_RETRY_DELAY_MS = 3000


def managed_tenants(tenants: list[Tenant], settings: StackSettings) -> list[Tenant]:
    """The tenants the cluster manages: those its `tenantSelector` picks that have an environment on it, or every
    one it picks on the cluster owning their global resources. Each has a tenant stack `<cluster>.<tenant>`."""
    return [
        tenant
        for tenant in tenants
        if settings.manages(tenant.name) and (settings.owns_global_resources or settings.hosted(tenant.environments))
    ]


@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    tenants: list[Tenant]
    """Every valid tenant of the folder (validation is whole); the stack declares its own part of them."""
    github_owner: str
    aws_region: str
    template_dir: Path
    stack: StackName
    """The shared stack `<cluster>` (what every tenant uses, nothing that depends on which tenants exist) or a
    tenant stack `<cluster>.<tenant>` (everything of that tenant on the cluster)."""
    whole_cluster: bool = False
    """The layout before tenant stacks, one stack per cluster holding both: only the offline engine sets it, to
    show that a tenant's resources are the same in both layouts but for the stack's name (the migration)."""


class Platform(pulumi.ComponentResource):
    """The root of every stack's resources, in both kinds of stack, so that a tenant's resources keep the URNs they
    had when one stack held the whole cluster (`pulumi state move` then moves them unchanged)."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.PLATFORM, name, None, opts)
        self.args = args
        settings = args.settings
        self.releases = charts.releases(settings)
        managed = managed_tenants(args.tenants, settings)
        shared = args.whole_cluster or args.stack.shared
        declared = managed if args.whole_cluster else [t for t in managed if t.name == args.stack.tenant]
        if not shared and not declared:
            raise pulumi.RunError(
                f"nothing was declared: stack {args.stack} is for tenant '{args.stack.tenant}', which cluster "
                f"'{args.stack.cluster}' does not manage (no such tenant file, or its tenantSelector and environments "
                "leave it out)"
            )
        stack = argocd = None
        operators: tuple[pulumi.Resource | None, pulumi.Resource | None] = (None, None)
        if shared:
            stack, argocd, operators = self._shared()
        elif settings.observability.enabled:
            # Made by the cluster's shared stack, whose wave comes first: known here by its settings.
            stack = ObservabilityContext.of_shared_stack(settings.observability.namespace)
        child = pulumi.ResourceOptions(parent=self)
        global_context = None
        if declared and not settings.owns_global_resources:
            # Each tenant stack registers the deploy keys its cluster's Argo CD reads with, on repositories the
            # tenant's stack on the cluster owning global resources made (an earlier wave).
            child = pulumi.ResourceOptions(parent=self, providers=[self._github("github")])
        if settings.owns_global_resources:
            providers = self._global_providers()
            child = pulumi.ResourceOptions(parent=self, providers=providers)
            foundation = self._delivery_foundation(child) if shared and settings.shares else None
            if declared:
                global_context = GlobalContext(
                    aws_region=args.aws_region,
                    oidc_provider_arn=foundation.oidc_provider_arn
                    if foundation
                    else self._oidc_provider_arn(providers),
                    template_content=foundation.template_content if foundation else [],
                    branch_provider=self._github("github-branches", branches=True),
                )
        # The deploy keys' titles name the cluster whose Argo CD reads with them: the same in both layouts.
        context = DeliveryContext(github_owner=args.github_owner, globals=global_context, stack=args.stack.cluster)
        self.tenants = [
            TenantResources(
                tenant.name,
                TenantArgs(
                    tenant=tenant,
                    settings=settings,
                    peers={
                        environment: isolation.network_peers(tenant, environment, settings)
                        for environment in settings.hosted(tenant.environments)
                    },
                    context=context,
                    observability=stack,
                    argocd=argocd.release if argocd else None,
                    region=args.aws_region,
                    operators=operators,
                ),
                child,
            )
            for tenant in declared
        ]
        self.register_outputs({"tenants": [tenant.tenant_name for tenant in self.tenants]})

    def _shared(
        self,
    ) -> tuple[ObservabilityContext | None, ArgoCd | None, tuple[pulumi.Resource | None, pulumi.Resource | None]]:
        """What every tenant of the cluster uses, whichever tenants exist: admission policies, the observability
        stack, Argo CD and its webhook, the promotion gate, metrics-server, External Secrets Operator, cert-manager
        and the shared Gateway (which accepts the tenants' ListenerSets by their namespaces' label). A tenant stack
        finds these made by the shared stack's earlier wave; in one stack, the tenants' objects wait for them."""
        settings = self.args.settings
        # What tenants deploy themselves is checked by the cluster, once for all its tenant namespaces.
        AdmissionPolicies("admission", settings, pulumi.ResourceOptions(parent=self))
        stack = self._observability() if settings.observability.enabled else None
        argocd = self._argocd() if settings.installs("argocd") else None
        operators = self._runtime_operators()
        if stack is not None and promotion.runs_gate(settings) and settings.promotion.github_app is not None:
            # After the namespace and its fence; Argo CD's namespace is the chart's where the stack installs it.
            after = [stack.namespace, *stack.fence, *([argocd.release] if argocd else [])]
            PromotionGate("promotion-gate", settings, pulumi.ResourceOptions(parent=self, depends_on=after))
        if settings.installs("metricsServer"):
            MetricsServer(
                "metrics-server",
                MetricsServerArgs(chart=self.releases[charts.METRICS_SERVER], image_mirror=settings.image_mirror),
                pulumi.ResourceOptions(parent=self),
            )
        if settings.observability.argocd.webhook_url is not None:
            declare_argocd_webhook(settings.observability.argocd.webhook_url, pulumi.ResourceOptions(parent=self))
        return (stack.context if stack else None), argocd, operators

    def _observability(self) -> Observability:
        """The cluster's shared observability stack: each tenant's part of its configuration is in the tenant's own
        stack (components/tenant_observability.py), merged in the cluster."""
        settings = self.args.settings
        return Observability(
            settings.observability.namespace,
            ObservabilityArgs(
                settings=settings.observability,
                releases=self.releases,
                default_limits=OBSERVABILITY_LIMITS["small"],
                size_limits=list(OBSERVABILITY_LIMITS.values()),
                environments=list(settings.environments),
                cluster_cidrs=settings.cluster_cidrs,
                storage_class=settings.storage_class,
                cluster_kind=settings.cluster_kind,
                image_mirror=settings.image_mirror,
                promotion_gate=promotion.runs_gate(settings) and settings.promotion.github_app is not None,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _runtime_operators(self) -> tuple[pulumi.Resource | None, pulumi.Resource | None]:
        """External Secrets Operator and cert-manager where the stack installs them, and the shared Gateway of
        exposed services where the cluster has a Gateway controller."""
        settings = self.args.settings
        child = pulumi.ResourceOptions(parent=self)
        secrets_operator = certificates_operator = None
        if settings.installs("externalSecrets"):
            secrets_operator = ExternalSecrets(
                "external-secrets", self.releases[charts.EXTERNAL_SECRETS], settings.image_mirror, child
            ).release
        if settings.installs("certManager"):
            certificates_operator = CertManager(
                "cert-manager", self.releases[charts.CERT_MANAGER], settings.image_mirror, child
            ).release
        if settings.exposure is not None:
            declare_gateway(settings.exposure, child)
        return secrets_operator, certificates_operator

    def _argocd(self) -> ArgoCd:
        settings = self.args.settings
        return ArgoCd(
            "argocd",
            ArgoCdArgs(
                chart=self.releases[charts.ARGO_CD],
                applications=settings.observability.argocd.applications,
                namespace=settings.argocd_namespace,
                image_mirror=settings.image_mirror,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _global_providers(self) -> list[pulumi.ProviderResource]:
        """Explicit GitHub and AWS providers for the global resources, tuned for GitHub's write limits."""
        aws_provider = aws.Provider(
            "aws",
            region=self.args.aws_region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=naming.platform_labels()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [self._github("github"), aws_provider]

    def _github(self, name: str, *, branches: bool = False) -> github.Provider:
        return github.Provider(
            name,
            owner=self.args.github_owner,
            write_delay_ms=GITHUB_WRITE_DELAY_MS,
            retry_delay_ms=GITHUB_BRANCH_RETRY_DELAY_MS if branches else GITHUB_RETRY_DELAY_MS,
            max_retries=GITHUB_BRANCH_MAX_RETRIES if branches else GITHUB_MAX_RETRIES,
            retryable_errors=GITHUB_BRANCH_RETRYABLE_ERRORS if branches else GITHUB_RETRYABLE_ERRORS,
            parallel_requests=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _oidc_provider_arn(self, providers: list[pulumi.ProviderResource]) -> pulumi.Input[str]:
        """The GitHub OIDC provider the CI roles trust, in a tenant stack: the setting, or the one the shared stack
        of the cluster owning shared resources made (an earlier wave), whose ARN IAM derives from the account."""
        settings = self.args.settings
        if settings.github_oidc_provider_arn:
            return settings.github_oidc_provider_arn
        invoke = pulumi.InvokeOutputOptions(provider=providers[1])
        identity = aws.get_caller_identity_output(opts=invoke)
        partition = aws.get_partition_output(opts=invoke)
        return pulumi.Output.all(partition.partition, identity.account_id).apply(
            lambda values: delivery.github_oidc_provider_arn(values[0], values[1])
        )

    def _delivery_foundation(self, opts: pulumi.ResourceOptions) -> DeliveryFoundation:
        args = self.args
        return DeliveryFoundation(
            "delivery",
            FoundationArgs(settings=args.settings, template_dir=args.template_dir, github_owner=args.github_owner),
            opts,
        )
