"""Argo CD sized for the organisation from one setting, the expected Applications (issue 25), after Argo CD's
high-availability guidance, and its one organisation webhook where Argo CD is reachable from GitHub."""

from __future__ import annotations

import pytest
from helpers import CLUSTER_VALUES
from planning import of_type, plan_stack

from imaas.declarations import chart_values
from imaas.declarations.argocd import argocd_sizing
from imaas.model.settings import StackSettings

WEBHOOK = "github:index/organizationWebhook:OrganizationWebhook"


@pytest.mark.fast
def test_the_guidance_sizes_a_thousand_applications() -> None:
    sizing = argocd_sizing(1000)
    assert (sizing.status_processors, sizing.operation_processors) == (50, 25)
    assert (sizing.repo_servers, sizing.reconciliation_s) == (2, 180)


@pytest.mark.fast
def test_one_cluster_of_five_thousand_applications() -> None:
    # Controller shards split clusters, not Applications: all of them on one controller, sized for them.
    sizing = argocd_sizing(5000)
    assert (sizing.status_processors, sizing.operation_processors, sizing.kubectl_parallelism) == (250, 125, 125)
    assert (sizing.repo_servers, sizing.reconciliation_s, sizing.jitter_s) == (5, 900, 180)
    values = sizing.chart_values()
    assert values["controller"]["replicas"] == 1
    assert values["configs"]["params"]["controller.status.processors"] == 250
    assert values["configs"]["cm"]["timeout.reconciliation"] == "900s"


@pytest.mark.fast
def test_a_small_organisation_keeps_argo_cds_defaults_and_a_large_one_an_hour_at_most() -> None:
    small, huge = argocd_sizing(10), argocd_sizing(100_000)
    assert (small.status_processors, small.operation_processors, small.kubectl_parallelism) == (20, 10, 20)
    assert small.repo_servers == 2 and small.reconciliation_s == 180
    assert huge.reconciliation_s == 3600


@pytest.mark.fast
def test_the_chart_values_keep_impersonation_and_take_the_size_from_the_setting() -> None:
    values = chart_values.argocd_values(3000)
    assert values["configs"]["cm"]["application.sync.impersonation.enabled"] == "true"
    assert values["repoServer"]["replicas"] == 3


@pytest.mark.fast
def test_the_webhook_comes_with_its_secret() -> None:
    with pytest.raises(ValueError, match="webhookUrl and argocdWebhookSecret are set together"):
        StackSettings.model_validate(
            {"environments": ["dev"], **CLUSTER_VALUES, "observability": {"argocd": {"webhookUrl": "https://cd.x.io"}}}
        )


@pytest.mark.slow
def test_one_organisation_webhook_in_the_shared_stack_where_argo_cd_is_reachable() -> None:
    plan = plan_stack(
        "prod",
        whole_cluster=False,
        observability={"argocd": {"webhookUrl": "https://argocd.example.com"}},
        argocdWebhookSecret="[secret]",
    )
    (hook,) = of_type(plan, WEBHOOK)
    assert hook.inputs["events"] == ["push"]
    assert hook.inputs["configuration"]["url"] == "https://argocd.example.com/api/webhook"
    assert hook.inputs["configuration"]["contentType"] == "json"
    assert not of_type(plan_stack("prod", whole_cluster=False), WEBHOOK)


@pytest.mark.slow
def test_an_installed_argo_cd_is_sized_by_the_setting_never_by_the_tenant_files() -> None:
    settings = {"preinstalled": None, "argocdImpersonation": None, "observability": {"argocd": {"applications": 5000}}}
    plan = plan_stack("prod", whole_cluster=False, **settings)
    (release,) = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "argo-cd"]
    assert release.inputs["values"]["configs"]["params"]["controller.status.processors"] == 250
