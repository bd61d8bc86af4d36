"""The platform guardrails of DESIGN section 6, as plain functions of resources' types and inputs.

One implementation with two entry points: the Pulumi policy pack (`policy/`) runs them at preview time, and
`imaas plan` runs them on the offline plan. A change to the components that weakens isolation is stopped by both,
even when the unit tests were changed along with it. Each guardrail lives in the module of what it fences.
"""

from __future__ import annotations

from imaas.guardrails import framework
from imaas.guardrails.admission import (
    admission_policies_bound,
    monitors_scrape_own_pods,
    platform_objects_marked,
    priority_classes_declared,
)
from imaas.guardrails.alerting import alerts_reach_their_alertmanager
from imaas.guardrails.argocd import (
    app_project_confined,
    applications_apply_the_tenant_file,
    credentials_per_repository,
)
from imaas.guardrails.data import data_kept
from imaas.guardrails.delivery import (
    ci_push_scoped,
    ci_trust_exact,
    ecr_access_scoped,
    promotion_gated,
    registry_safe,
    rulesets_select_owner_only_properties,
)
from imaas.guardrails.framework import Context, Guardrail, Resource, Violation, stack_context
from imaas.guardrails.namespaces import namespace_fence, pod_security, quota_within_size
from imaas.guardrails.network import network_peers_exact
from imaas.guardrails.observability import grafana_orgs_isolated, tenant_metrics_proxied
from imaas.guardrails.ordering import (
    branches_after_their_source,
    custom_resources_after_their_crds,
    generated_after_the_template,
)
from imaas.guardrails.rbac import rbac_fenced
from imaas.guardrails.runtime import routes_scoped, secrets_scoped
from imaas.guardrails.telemetry import telemetry_per_tenant

GUARDRAILS = [
    Guardrail(
        "tenant-namespace-pod-security", "Tenant namespaces enforce Pod Security restricted.", True, pod_security
    ),
    Guardrail(
        "tenant-namespace-fenced",
        "Each tenant namespace has a quota (NodePorts and LoadBalancers at 0), a limit range and a NetworkPolicy "
        "over all pods.",
        True,
        namespace_fence,
    ),
    Guardrail(
        "network-peers-exact",
        "Every NetworkPolicy of a tenant namespace admits and reaches only its own namespace, the platform's, its "
        "allowFrom peers in the same environment, cluster DNS and the world outside the cluster.",
        True,
        network_peers_exact,
    ),
    Guardrail(
        "argocd-project-confined",
        "AppProject sources and destinations are one tenant's own, with no cluster-scoped or fence kinds; "
        "Applications deploy inside their tenant.",
        True,
        app_project_confined,
    ),
    Guardrail(
        "argocd-credentials-per-repository",
        "Every Argo CD repository credential reads one service repository, for the project of that repository's "
        "tenant; no credential template (URL prefix) and no credential without a project; deploy keys read-only.",
        True,
        credentials_per_repository,
    ),
    Guardrail(
        "service-workload-from-tenant-file",
        "Each service's Application patches on the pod size, scaling bounds and rollout of its tenant file, so the "
        "capacity `validate --stack` checked is what runs.",
        True,
        applications_apply_the_tenant_file,
    ),
    Guardrail(
        "tenant-rbac-fenced",
        "No tenant group bound cluster-wide or outside its namespaces; no tenant role edits quotas, limits, "
        "network policies or RBAC.",
        True,
        rbac_fenced,
    ),
    Guardrail(
        "admission-policies-bound",
        "Every admission rule is declared as a policy as defined, bound to refuse in every tenant namespace, whose "
        "labels name its tenant and environment.",
        True,
        admission_policies_bound,
    ),
    Guardrail(
        "monitors-scrape-own-pods",
        "The monitors the platform declares in tenant namespaces meet the admission rules on tenants' monitors: no "
        "relabeling into scrape labels, no labelmap, proxy, OAuth 2 or scraper files.",
        True,
        monitors_scrape_own_pods,
    ),
    Guardrail(
        "tenant-priority-classes-declared",
        "The priority classes tenants' pods may name are declared as defined: at most 0, never preempting, not the "
        "cluster's default.",
        True,
        priority_classes_declared,
    ),
    Guardrail(
        "platform-objects-marked",
        "Every object the platform declares in a tenant namespace is labelled as the platform's, and every tenant "
        "namespace lists its tenant's groups, which the admission policy on the platform's objects reads.",
        True,
        platform_objects_marked,
    ),
    Guardrail(
        "ecr-repository-safe", "ECR repositories are immutable, scanned and not force-deletable.", True, registry_safe
    ),
    Guardrail(
        "ci-trust-exact",
        "CI roles trust only their tenant's own repositories and branches, by exact subject.",
        True,
        ci_trust_exact,
    ),
    Guardrail(
        "ci-push-scoped",
        "A CI role's own policy allows registry log-in and pushing to its tenant's registries, nothing else.",
        True,
        ci_push_scoped,
    ),
    Guardrail(
        "ecr-access-scoped",
        "A registry's policy lets its tenant's CI role push and the clusters' accounts pull, and nobody else.",
        True,
        ecr_access_scoped,
    ),
    Guardrail(
        "grafana-orgs-isolated",
        "Each tenant's Grafana organisation reads only its own logs, metrics and traces, its dashboards only its "
        "data sources; sign-in maps each group only into its own tenant's organisation, never as Admin; the "
        "platform's data sources are in the main organisation only.",
        True,
        grafana_orgs_isolated,
    ),
    Guardrail(
        "tenant-metrics-proxied",
        "Tenant organisations' metrics go through prom-label-proxy enforcing the namespace header, which only "
        "Grafana reaches; only the proxy and Grafana reach the tenants' Prometheus.",
        True,
        tenant_metrics_proxied,
    ),
    Guardrail(
        "telemetry-per-tenant",
        "The trace collector files spans under the tenant of the namespace that sent them, whatever they claim, and "
        "each AlertmanagerConfig takes only its own tenant namespace's alerts.",
        True,
        telemetry_per_tenant,
    ),
    Guardrail(
        "tenant-secrets-scoped",
        "Each tenant namespace's secret store authenticates as its own account and role, trusted for that account "
        "alone and reading imaas/<tenant>/*/<environment>/* only; ExternalSecrets read their tenant's path in their "
        "environment through that store; writers write and describe their own prefix only; secrets are retained.",
        True,
        secrets_scoped,
    ),
    Guardrail(
        "tenant-routes-scoped",
        "HTTPRoutes, listeners and certificates in a tenant namespace name only hosts under "
        "<tenant>.<environment>.<ingressHostSuffix>, and routes attach only to their namespace's own ListenerSet.",
        True,
        routes_scoped,
    ),
    Guardrail(
        "branch-rules-owner-properties",
        "The branch rulesets select service repositories by custom properties whose values only organisation "
        "owners may edit, declared in the same stack.",
        True,
        rulesets_select_owner_only_properties,
    ),
    Guardrail(
        "alerts-reach-alertmanager",
        "Every Prometheus that sends alerts may discover each of its Alertmanagers: the RBAC of the Alertmanager's "
        "namespace lets its service account read what the operator's discovery there reads.",
        True,
        alerts_reach_their_alertmanager,
    ),
    Guardrail(
        "promotion-gated",
        "Every required check names the App that may post it; a merge into test or prod requires the service CI's "
        "check and the promotion gate's status, each from its App; only an organisation owner may bypass, through a "
        "pull request.",
        True,
        promotion_gated,
    ),
    Guardrail("data-holding-kept", "Namespaces and repositories are protected or retained.", True, data_kept),
    Guardrail(
        "crds-before-custom-resources",
        "Custom resources, and releases whose charts create them, wait for the release that installs their CRDs.",
        True,
        custom_resources_after_their_crds,
    ),
    Guardrail(
        "template-before-generated-repositories",
        "Repositories generated from the service template wait for its default branch and its published version.",
        True,
        generated_after_the_template,
    ),
    Guardrail(
        "branch-after-its-source",
        "A branch waits for whatever makes the branch it is cut from.",
        True,
        branches_after_their_source,
    ),
    Guardrail("quota-within-size", "Tenants asking for more than their size preset.", False, quota_within_size),
]


def evaluate(resources: list[Resource], context: Context, guardrails: list[Guardrail] = GUARDRAILS) -> list[Violation]:
    return framework.evaluate(resources, context, guardrails)


__all__ = ["GUARDRAILS", "Context", "Guardrail", "Resource", "Violation", "evaluate", "stack_context"]
