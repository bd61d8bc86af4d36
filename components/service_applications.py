"""A service's Argo CD Applications: one per environment this stack hosts, following that environment's branch
into the tenant's namespace, inside the tenant's project."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import argocd, naming, promotion, workload
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant

# Deleting an Application (retiring its service) deletes what it deployed, instead of orphaning running pods.
CASCADE_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# ... except the data: Argo CD neither deletes (with its Application) nor prunes (when gone from the branch) an object
# annotated so. Patched onto every claim the service's manifests hold, whatever the tenant writes there, since the
# Application is the platform's; a claim keeps its volume bound, whatever the storage class's reclaim policy.
KEEP_CLAIMS_PATCH = {
    "target": {"kind": "PersistentVolumeClaim"},
    "patch": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: any\n  annotations:\n"
    "    argocd.argoproj.io/sync-options: Prune=false,Delete=false\n",
}


@dataclass(frozen=True)
class ApplicationsArgs:
    tenant: Tenant
    service: Service
    environments: list[str]
    settings: StackSettings
    github_owner: str


def application_spec(args: ApplicationsArgs, environment: str) -> dict[str, object]:
    tenant, service = args.tenant, args.service
    return {
        "project": naming.app_project(tenant.name),
        "source": {
            "repoURL": naming.repository_url(args.github_owner, tenant.name, service.name),
            "targetRevision": naming.branch(environment),
            "path": naming.deploy_path(environment),
            # Every service is made from one template: the prefix and label keep two services of a tenant, which
            # share its namespace, from claiming each other's objects. The patches set what the tenant file owns
            # (pod size, scaling bounds) over whatever the repository says.
            "kustomize": {
                "namePrefix": f"{service.name}-",
                "commonLabels": {naming.SERVICE_LABEL: service.name},
                "patches": [
                    KEEP_CLAIMS_PATCH,
                    *workload.workload_patches(tenant, service, environment, args.settings),
                ],
            },
        },
        "destination": {
            "server": argocd.IN_CLUSTER_SERVER,
            "namespace": naming.namespace(tenant.name, environment),
        },
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            # The platform owns the namespace: an Application must never create or change it.
            "syncOptions": ["CreateNamespace=false", "PrunePropagationPolicy=foreground"],
            "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
        },
        "revisionHistoryLimit": 10,
    }


def declare_applications(
    args: ApplicationsArgs, opts: pulumi.ResourceOptions
) -> list[k8s.apiextensions.CustomResource]:
    applications = []
    service_environments = args.tenant.service_environments(args.service)
    for environment in args.environments:
        name = naming.application(args.tenant.name, args.service.name, environment)
        labels = naming.labels(args.tenant, environment, args.service.name)
        # The promotion gate reads the Applications of environments promoted from, and pull requests into the next.
        target = promotion.promotes_to(service_environments, environment)
        if target is not None:
            labels[promotion.PROMOTES_TO_LABEL] = target
        applications.append(
            k8s.apiextensions.CustomResource(
                name,
                api_version="argoproj.io/v1alpha1",
                kind="Application",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name,
                    namespace=args.settings.argocd_namespace,
                    labels=labels,
                    finalizers=[CASCADE_FINALIZER],
                ),
                spec=application_spec(args, environment),
                opts=opts,
            )
        )
    return applications
