"""The whole platform on one stack: the providers, the delivery foundation (on the stack that owns global
resources), the cluster's shared observability stack (and Argo CD, where the cluster has none) and every tenant
this stack manages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.argocd_install import ArgoCdArgs, ArgoCdInstall
from components.delivery_context import DeliveryContext, GlobalContext
from components.delivery_foundation import DeliveryFoundation, FoundationArgs
from components.observability import ObservabilityArgs, ObservabilityStack
from components.tenant import TenantArgs, TenantResources
from imaas import observability
from imaas.settings import StackSettings
from imaas.tenant import Tenant

# GitHub asks integrations to wait at least a second between writes and answers bursts with secondary rate
# limits; the provider serialises requests and retries transient errors rather than failing an apply halfway.
GITHUB_WRITE_DELAY_MS = 1000
GITHUB_RETRY_DELAY_MS = 2000
GITHUB_MAX_RETRIES = 3
GITHUB_RETRYABLE_ERRORS = [500, 502, 503, 504]


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
        super().__init__("imaas:index:Platform", name, None, opts)
        settings = args.settings
        managed = [
            tenant
            for tenant in args.tenants
            if settings.manages(tenant.name)
            and (settings.owns_global_resources or settings.hosted(tenant.environments))
        ]
        child = pulumi.ResourceOptions(parent=self)
        stack = None
        if settings.observability.enabled:
            routes = [
                telemetry
                for telemetry in (observability.tenant_telemetry(tenant, settings) for tenant in managed)
                if telemetry is not None
            ]
            stack = ObservabilityStack(
                settings.observability.namespace,
                ObservabilityArgs(settings=settings.observability, routes=routes),
                child,
            )
        argocd = None
        if settings.observability.argocd.install:
            argocd = ArgoCdInstall(
                "argocd", ArgoCdArgs(chart=settings.observability.argocd, namespace=settings.argocd_namespace), child
            )
        global_context = None
        if settings.owns_global_resources:
            providers = [
                github.Provider(
                    "github",
                    owner=args.github_owner,
                    write_delay_ms=GITHUB_WRITE_DELAY_MS,
                    retry_delay_ms=GITHUB_RETRY_DELAY_MS,
                    max_retries=GITHUB_MAX_RETRIES,
                    retryable_errors=GITHUB_RETRYABLE_ERRORS,
                    parallel_requests=False,
                    opts=child,
                ),
                aws.Provider(
                    "aws",
                    region=args.aws_region,
                    default_tags=aws.ProviderDefaultTagsArgs(tags={"app.kubernetes.io/managed-by": "pulumi"}),
                    opts=child,
                ),
            ]
            child = pulumi.ResourceOptions(parent=self, providers=providers)
            foundation = DeliveryFoundation(
                "delivery", FoundationArgs(settings=settings, tenants=managed, template_dir=args.template_dir), child
            )
            global_context = GlobalContext(aws_region=args.aws_region, oidc_provider_arn=foundation.oidc_provider_arn)
        context = DeliveryContext(github_owner=args.github_owner, globals=global_context)
        self.tenants = [
            TenantResources(
                tenant.name,
                TenantArgs(
                    tenant=tenant,
                    settings=settings,
                    tenants=args.tenants,
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
