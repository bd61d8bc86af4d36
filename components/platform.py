"""The whole platform on one stack: the providers, the delivery foundation (on the stack that owns global
resources), the cluster's admission policies for tenant namespaces, its shared observability stack (and Argo CD and
metrics-server, where the cluster has none) and every tenant this stack manages (with, per service repository its
Argo CD reads, a read-only key of this stack's own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.admission_policies import AdmissionPolicies
from components.argocd_install import ArgoCd, ArgoCdArgs
from components.delivery_context import DeliveryContext, GlobalContext
from components.delivery_foundation import DeliveryFoundation, FoundationArgs
from components.metrics_server import MetricsServer, MetricsServerArgs
from components.observability import Observability, ObservabilityArgs
from components.promotion_gate import PromotionGate
from components.tenant import TenantArgs, TenantResources
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant
from imaas.spec import isolation, naming, promotion, telemetry, types

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


@dataclass(frozen=True)
class PlatformArgs:
    settings: StackSettings
    tenants: list[Tenant]
    """Every valid tenant; the stack declares those its `tenantSelector` picks."""
    github_owner: str
    aws_region: str
    template_dir: Path
    focus: frozenset[str] | None = None
    """A partial offline plan's tenants: only theirs are declared, while the shared resources (branch rules,
    log routes) are built from every managed tenant, exactly as in a full plan."""


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.PLATFORM, name, None, opts)
        self.args = args
        settings = args.settings
        managed = [
            tenant
            for tenant in args.tenants
            if settings.manages(tenant.name)
            and (settings.owns_global_resources or settings.hosted(tenant.environments))
        ]
        # What tenants deploy themselves is checked by the cluster, once for all its tenant namespaces.
        AdmissionPolicies("admission", settings, pulumi.ResourceOptions(parent=self))
        stack = self._observability(managed) if settings.observability.enabled else None
        argocd = self._argocd() if settings.observability.argocd.install else None
        if stack is not None and promotion.runs_gate(settings) and settings.promotion.github_app is not None:
            # After the namespace and its fence; Argo CD's namespace is the chart's where the stack installs it.
            after = [stack.namespace, *stack.fence, *([argocd.release] if argocd else [])]
            PromotionGate("promotion-gate", settings, pulumi.ResourceOptions(parent=self, depends_on=after))
        if settings.metrics_server.install:
            MetricsServer(
                "metrics-server",
                MetricsServerArgs(chart=settings.metrics_server, image_mirror=settings.image_mirror),
                pulumi.ResourceOptions(parent=self),
            )
        global_context = None
        if settings.owns_global_resources:
            child = pulumi.ResourceOptions(parent=self, providers=self._global_providers())
            global_context = self._delivery_foundation(managed, child, self._github("github-branches", branches=True))
        else:
            # Every stack registers the deploy keys its own Argo CD reads with, on repositories another stack owns.
            child = pulumi.ResourceOptions(parent=self, providers=[self._github("github")])
        context = DeliveryContext(github_owner=args.github_owner, globals=global_context, stack=pulumi.get_stack())
        network = isolation.NetworkMap(args.tenants)
        self.tenants = [
            TenantResources(
                tenant.name,
                TenantArgs(
                    tenant=tenant,
                    settings=settings,
                    peers={
                        environment: network.peers(tenant, environment, settings)
                        for environment in settings.hosted(tenant.environments)
                    },
                    context=context,
                    observability=stack.context if stack else None,
                    argocd=argocd.release if argocd else None,
                ),
                child,
            )
            for tenant in managed
            if args.focus is None or tenant.name in args.focus
        ]
        self.register_outputs({"tenants": [tenant.tenant_name for tenant in self.tenants]})

    def _observability(self, managed: list[Tenant]) -> Observability:
        """The cluster's shared stack, routing the logs of every managed tenant with namespaces here."""
        settings = self.args.settings
        hosted = [tenant for tenant in managed if telemetry.tenant_telemetry(tenant, settings)]
        return Observability(
            settings.observability.namespace,
            ObservabilityArgs(
                settings=settings.observability,
                routes=[route for tenant in hosted if (route := telemetry.tenant_telemetry(tenant, settings))],
                default_limits=settings.observability_limits["small"],
                size_limits=list(settings.observability_limits.values()),
                environments=list(settings.environments),
                cluster_cidrs=settings.cluster_cidrs,
                storage_class=settings.storage_class,
                cluster_kind=settings.cluster_kind,
                image_mirror=settings.image_mirror,
                promotion_gate=promotion.runs_gate(settings) and settings.promotion.github_app is not None,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _argocd(self) -> ArgoCd:
        settings = self.args.settings
        return ArgoCd(
            "argocd",
            ArgoCdArgs(
                chart=settings.observability.argocd,
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
            default_tags=aws.ProviderDefaultTagsArgs(tags={naming.MANAGED_BY_LABEL: "pulumi"}),
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

    def _delivery_foundation(
        self, managed: list[Tenant], opts: pulumi.ResourceOptions, branch_provider: github.Provider
    ) -> GlobalContext:
        args = self.args
        foundation = DeliveryFoundation(
            "delivery",
            FoundationArgs(
                settings=args.settings,
                tenants=managed,
                template_dir=args.template_dir,
                github_owner=args.github_owner,
            ),
            opts,
        )
        return GlobalContext(
            aws_region=args.aws_region,
            oidc_provider_arn=foundation.oidc_provider_arn,
            template_content=foundation.template_content,
            branch_provider=branch_provider,
        )
