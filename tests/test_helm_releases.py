"""Every Helm release of the plan keeps a bounded history, and `pulumi up` waits for no rollout as long as the
cluster is large (components/helm_release.py)."""

from __future__ import annotations

import pytest
from planning import of_type, plan_stack
from tokens import RELEASE

from imaas.declarations import charts


@pytest.mark.slow
def test_every_release_keeps_a_bounded_history_and_up_waits_for_no_node_wide_rollout(stack: str) -> None:
    plan = plan_stack(stack, preinstalled=None, argocdImpersonation=None)
    found = {resource.name: resource for resource in of_type(plan, RELEASE)}
    assert set(found) == {chart.release for chart in charts.CHARTS}
    for chart in charts.CHARTS:
        inputs = found[chart.release].inputs
        assert inputs["maxHistory"] == charts.MAX_HISTORY > 0, chart.release
        # skipAwait: Helm runs without --wait, and no timeout applies; the others wait as long as the provider's.
        assert inputs.get("skipAwait", False) is chart.node_agent, chart.release
        assert "timeout" not in inputs, chart.release
    assert [chart.release for chart in charts.CHARTS if chart.node_agent] == ["fluent-bit"]
