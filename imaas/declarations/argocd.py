"""Argo CD sized for the organisation from one setting, the Applications a cluster's Argo CD is expected to hold
(`imaas:observability.argocd.applications`), after Argo CD's high-availability guidance
(docs/operator-manual/high_availability.md): never from the tenant files, so that no tenant's onboarding changes
the shared stack.

- The application controller's processors: the guidance runs 1,000 Applications with 50 status and 25 operation
  processors (defaults 20 and 10); they grow with the Applications, by the same ratio.
- kubectl parallelism (`controller.kubectl.parallelism.limit`, default 20): the forks of kubectl a sync may run at
  once, which the controller's memory bounds; it follows the operation processors.
- Repo-server replicas: manifest generation is the repo-server's, scaled out horizontally, one replica per 1,000
  Applications (at least two, for availability), each with a bounded number of concurrent generations.
- Reconciliation period (`timeout.reconciliation`, default 180 s): every Application's repository is polled that
  often; with the organisation webhook a push is seen at once, so the period is lengthened with the count and
  jittered, so that thousands of Applications do not hit GitHub at the same instant.

Controller shards split clusters, not Applications: a cluster's Applications are all on one controller replica,
whatever its `controller.replicas`. One cluster of 5,000 Applications therefore needs one controller with 250 status
and 125 operation processors, a kubectl parallelism of 125, five repo-servers, a 15-minute reconciliation with
jitter and the webhook, and the controller's memory sized for the cluster's whole resource cache (several GiB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
"""Where every Application deploys: the cluster of the Argo CD that holds it (the stack's own), by Argo CD's name for
its in-cluster destination."""
GUIDANCE_APPLICATIONS = 1000
STATUS_PROCESSORS_PER_1000 = 50
OPERATION_PROCESSORS_PER_1000 = 25
DEFAULT_STATUS_PROCESSORS = 20
DEFAULT_OPERATION_PROCESSORS = 10
DEFAULT_KUBECTL_PARALLELISM = 20
APPLICATIONS_PER_REPO_SERVER = 1000
MIN_REPO_SERVERS = 2
REPO_SERVER_PARALLELISM = 10
DEFAULT_RECONCILIATION_S = 180
MAX_RECONCILIATION_S = 3600
JITTER_FRACTION = 0.2


@dataclass(frozen=True)
class ArgoCdSizing:
    applications: int
    status_processors: int
    operation_processors: int
    kubectl_parallelism: int
    repo_servers: int
    reconciliation_s: int
    jitter_s: int

    def chart_values(self) -> dict[str, Any]:
        """The argo-cd chart's values for this size (argocd-cmd-params-cm, argocd-cm and the replicas)."""
        return {
            "controller": {"replicas": 1},
            "repoServer": {"replicas": self.repo_servers},
            "configs": {
                "params": {
                    "controller.status.processors": self.status_processors,
                    "controller.operation.processors": self.operation_processors,
                    "controller.kubectl.parallelism.limit": self.kubectl_parallelism,
                    "reposerver.parallelism.limit": REPO_SERVER_PARALLELISM,
                },
                "cm": {
                    "timeout.reconciliation": f"{self.reconciliation_s}s",
                    "timeout.reconciliation.jitter": f"{self.jitter_s}s",
                },
            },
        }


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def argocd_sizing(applications: int) -> ArgoCdSizing:
    status = max(DEFAULT_STATUS_PROCESSORS, _ceil_div(applications * STATUS_PROCESSORS_PER_1000, GUIDANCE_APPLICATIONS))
    operation = max(
        DEFAULT_OPERATION_PROCESSORS, _ceil_div(applications * OPERATION_PROCESSORS_PER_1000, GUIDANCE_APPLICATIONS)
    )
    # 3 minutes up to 1,000 Applications, then 3 more per 1,000, at most an hour.
    reconciliation = min(MAX_RECONCILIATION_S, DEFAULT_RECONCILIATION_S * max(1, _ceil_div(applications, 1000)))
    return ArgoCdSizing(
        applications=applications,
        status_processors=status,
        operation_processors=operation,
        kubectl_parallelism=max(DEFAULT_KUBECTL_PARALLELISM, operation),
        repo_servers=max(MIN_REPO_SERVERS, _ceil_div(applications, APPLICATIONS_PER_REPO_SERVER)),
        reconciliation_s=reconciliation,
        jitter_s=int(reconciliation * JITTER_FRACTION),
    )
