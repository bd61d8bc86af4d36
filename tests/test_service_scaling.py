"""Each service's pod size and scaling bounds: owned by its tenant file, checked to fit the tenant's quota at maximum
scale, and applied by its Argo CD Application's kustomize patches, which the real kustomize renders here exactly as
Argo CD would build the service's overlay. metrics-server, which the autoscalers read, comes from its pinned chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CLUSTER_VALUES, PROJECT_DIR, TEMPLATE_DIR, lines, write_tenant, write_tenants
from kube_schemas import validate_kubernetes
from kustomize import as_argocd_renders
from planning import example_plan, of_type, plan_stack
from tokens import LIMITS, RELEASE
from typer.testing import CliRunner

from imaas import cli
from imaas.checks.tenants import check_tenants
from imaas.declarations import types
from imaas.inputs.stack_file import read_stack_file
from imaas.model.settings import BUILTIN_SERVICE_SIZES, StackSettings
from imaas.model.tenant import DEFAULT_REPLICAS

TENANTS = Path("tenants")
runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(**values: object) -> StackSettings:
    return StackSettings.model_validate({"environments": ["dev", "test", "prod"], **CLUSTER_VALUES, **values})


def problems(stack: StackSettings | None = None) -> list[str]:
    return lines(check_tenants(TENANTS, stack)[1])


# --- the tenant file ---------------------------------------------------------------------------------------------


@pytest.mark.fast
def test_size_and_replicas_have_defaults_and_take_bounds_per_environment() -> None:
    write_tenant(TENANTS, "hr", "services:\n  - name: sync\n  - name: export\n    size: large\n    replicas:\n"
                 "      prod: {min: 3, max: 20}\n      dev: {min: 1, max: 1}\n")  # fmt: skip

    files, found = check_tenants(TENANTS)

    assert lines(found) == []
    sync, export = files[0].tenant.spec.services
    assert sync.size == "small"
    bounds = {env: (sync.replicas.of(env).min, sync.replicas.of(env).max) for env in ("dev", "test", "prod")}
    assert bounds == {env: (default.min, default.max) for env, default in DEFAULT_REPLICAS.items()}
    assert export.size == "large"
    assert (export.replicas.of("prod").min, export.replicas.of("prod").max) == (3, 20)
    assert (export.replicas.of("dev").min, export.replicas.of("dev").max) == (1, 1)
    assert export.replicas.of("test") == DEFAULT_REPLICAS["test"]


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [
        (
            "prod: {min: 0, max: 2}",
            "12:21: spec.services[0].replicas.prod.min: must be at least 1, got 0",
        ),
        (
            "prod: {min: 2, max: 21}",
            "12:29: spec.services[0].replicas.prod.max: must be at most 20, got 21",
        ),
        ("prod: {min: 5, max: 3}", "12:15: spec.services[0].replicas.prod: min (5) is above max (3)"),
        ('prod: {min: "2", max: 3}', "12:21: spec.services[0].replicas.prod.min: must be a whole number, got '2'"),
        ("prod: {min: 2}", "12:15: spec.services[0].replicas.prod.max: is required"),
        ("prd: {min: 2, max: 3}", "12:9: spec.services[0].replicas.prd: unknown key 'prd'; did you mean 'prod'?"),
    ],
)
@pytest.mark.fast
def test_bad_replicas_are_refused_at_their_line(replicas: str, expected: str) -> None:
    write_tenant(TENANTS, "hr", f"services:\n  - name: sync\n    replicas:\n      {replicas}\n")

    assert problems() == [f"tenants/hr.yaml:{expected}"]


@pytest.mark.fast
def test_an_unknown_size_is_refused() -> None:
    write_tenant(TENANTS, "hr", "services:\n  - name: sync\n    size: huge\n")

    assert problems() == [
        "tenants/hr.yaml:11:13: spec.services[0].size: must be one of 'small', 'medium' or 'large', got 'huge'"
    ]


@pytest.mark.fast
def test_bounds_for_an_environment_the_service_does_not_run_in_are_refused() -> None:
    write_tenant(TENANTS, "hr", "environments: [dev, test]\nservices:\n  - name: sync\n    replicas:\n"
                 "      prod: {min: 2, max: 3}\n  - name: export\n    environments: [dev]\n    replicas:\n"
                 "      dev: {min: 1, max: 2}\n      test: {min: 1, max: 2}\n")  # fmt: skip

    assert problems() == [
        "tenants/hr.yaml:13:9: spec.services[0].replicas.prod: the service does not run in prod (it runs in dev, "
        "test): remove these bounds or add prod to its environments",
        "tenants/hr.yaml:18:9: spec.services[1].replicas.test: the service does not run in test (it runs in dev): "
        "remove these bounds or add test to its environments",
    ]


# --- stack settings ----------------------------------------------------------------------------------------------


@pytest.mark.fast
def test_service_sizes_keep_the_built_in_ones_and_take_overrides() -> None:
    size = {"requests": {"cpu": "1", "memory": "2Gi", "ephemeralStorage": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi", "ephemeralStorage": "1Gi"}}  # fmt: skip
    stack = settings(serviceSizes={"medium": size})

    assert stack.service_sizes["small"] == BUILTIN_SERVICE_SIZES["small"]
    assert stack.service_sizes["medium"].requests.memory == "2Gi"
    assert settings().service_sizes == BUILTIN_SERVICE_SIZES
    assert set(settings().sizes) == {"small", "medium", "large"}, "sizes default to the built-in ones too"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (
            {"requests": {"cpu": "2", "memory": "1Gi", "ephemeralStorage": "1Gi"},
             "limits": {"cpu": "1", "memory": "1Gi", "ephemeralStorage": "1Gi"}},
            "7:33: imaas:serviceSizes.large: requests above limits in cpu",
        ),
        (
            {"requests": {"cpu": "1", "memory": "1Gi", "ephemeralStorage": "1Gi"},
             "limits": {"cpu": "200", "memory": "1Gi", "ephemeralStorage": "1Gi"}},
            "7:23: imaas:serviceSizes: service size large has limits above quotaMax in cpu",
        ),
    ],
)  # fmt: skip
@pytest.mark.fast
def test_a_service_size_beyond_reason_is_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: dict, expected: str
) -> None:
    cluster = "".join(f"  imaas:{key}: {json.dumps(value)}\n" for key, value in CLUSTER_VALUES.items())
    (tmp_path / "Pulumi.odd.yaml").write_text(
        f"config:\n  imaas:environments: [prod]\n{cluster}  imaas:serviceSizes: {json.dumps({'large': size})}\n"
    )
    monkeypatch.setattr(cli.output, "PROJECT_DIR", tmp_path)
    result = runner.invoke(
        cli.app, ["validate", "--tenants", str(write_tenants(tmp_path / "t", ab={})), "--stack", "odd"]
    )

    assert result.exit_code == 1
    assert f"Pulumi.odd.yaml:{expected}" in result.output
    assert "Traceback" not in result.output


# --- capacity: validate --stack ----------------------------------------------------------------------------------

THREE = "services:\n  - name: one\n  - name: two\n  - name: three\n"
# The capacity tests state every bound they count, so that their sums hold whatever the defaults are; each service
# on one line, as in THREE, so that the lines the messages name stay.
PROD_2_4 = "replicas: {prod: {min: 2, max: 4}}"
THREE_BOUND = f"services:\n  - {{name: one, {PROD_2_4}}}\n  - {{name: two, {PROD_2_4}}}\n  - name: three\n"


@pytest.mark.fast
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_small_tenant_fits_three_services_at_default_scaling_on_each_stack(stack: str) -> None:
    write_tenant(TENANTS, "hr", THREE)

    assert problems(read_stack_file(PROJECT_DIR, stack).settings) == []
    assert problems(settings()) == [], "and with the built-in sizes"


@pytest.mark.fast
def test_services_that_cannot_fit_at_maximum_scale_are_refused_with_the_numbers() -> None:
    write_tenant(
        TENANTS, "hr", 'quota: {cpu: "16", pods: 15}\n' + THREE_BOUND + "    replicas:\n      prod: {min: 2, max: 8}\n"
    )

    # In prod each service runs max + 1 pods while it rolls out: 5 + 5 + 9 = 19 pods of 1 CPU of limits.
    assert problems(settings()) == [
        "tenants/hr.yaml:13:13: spec.services[2].name: service 'three' does not fit the tenant's quota in prod: at "
        "their maximum scale during a rolling update (max + 1 pods each: one 5 x small, two 5 x small, three 9 x "
        "small) the active services need pods 19 > 15, limits.cpu 19 > 16; lower replicas.prod.max or a size, or "
        "raise the tenant's size or quota"
    ]
    assert problems() == [], "checked only against a stack, whose sizes make the quota"


@pytest.mark.fast
def test_every_resource_of_the_size_is_counted_against_the_tenants_size() -> None:
    write_tenant(TENANTS, "hr", "environments: [dev]\nservices:\n  - name: one\n    size: large\n"
                 "    replicas: {dev: {min: 4, max: 6}}\n")  # fmt: skip

    # 7 pods of large: 7 CPU and 21Gi requested, 28 CPU, 28Gi and 14Gi of disk at most; small is 20, 24Gi, 20Gi.
    assert problems(settings()) == [
        "tenants/hr.yaml:11:13: spec.services[0].name: service 'one' does not fit the tenant's quota in dev: at their "
        "maximum scale during a rolling update (max + 1 pods each: one 7 x large) the active services need "
        "limits.cpu 28 > 20, limits.memory 28Gi > 24Gi; lower replicas.dev.max or a size, or raise the tenant's "
        "size or quota"
    ]
    write_tenant(TENANTS, "hr", "environments: [dev]\nsize: medium\nservices:\n  - name: one\n    size: large\n"
                 "    replicas: {dev: {min: 4, max: 6}}\n")  # fmt: skip
    assert problems(settings()) == []


@pytest.mark.fast
def test_only_active_services_in_hosted_environments_count() -> None:
    retired = "  - name: old\n    lifecycle: retired\n    replicas: {prod: {min: 20, max: 20}}\n"
    write_tenant(TENANTS, "hr", THREE_BOUND + retired)
    write_tenant(TENANTS, "big", THREE_BOUND + "    replicas: {prod: {min: 20, max: 20}}\n")

    assert problems(settings()) == [
        "tenants/big.yaml:12:13: spec.services[2].name: service 'three' does not fit the tenant's quota in prod: at "
        "their maximum scale during a rolling update (max + 1 pods each: one 5 x small, two 5 x small, three 21 x "
        "small) the active services need pods 31 > 30, limits.cpu 31 > 20, limits.memory 31Gi > 24Gi, "
        "limits.ephemeral-storage 31Gi > 20Gi; lower replicas.prod.max or a size, or raise the tenant's size or quota"
    ]
    assert problems(settings(environments=["dev", "test"])) == [], "prod is not this stack's"
    assert problems(settings(tenantSelector=["hr"])) == [], "big is not this stack's"


@pytest.mark.fast
def test_many_services_are_summed_up_in_one_line() -> None:
    write_tenant(TENANTS, "hr", "services:\n" + "".join(f"  - {{name: s{index}, {PROD_2_4}}}\n" for index in range(8)))

    (message,) = problems(settings(environments=["prod"]))
    assert "(max + 1 pods each: s0 5 x small, s1 5 x small, s2 5 x small, s3 5 x small, s4 5 x small, 3 more)" in (
        message
    )
    assert message.startswith("tenants/hr.yaml:14:14: spec.services[4].name: service 's4' does not fit")
    assert "\n" not in message


# --- the patches, rendered by the real kustomize -----------------------------------------------------------------


def argocd_build(directory: Path, kustomize: dict[str, Any], environment: str) -> dict[str, dict[str, Any]]:
    """The service template's overlay of `environment` as Argo CD renders it with an Application's `kustomize`
    source (tests/kustomize.py), from a repository that has put `replicas: 3` back into its Deployment; each object
    valid against the Kubernetes schemas. The objects by kind."""
    shutil.copytree(TEMPLATE_DIR / "deploy", directory / "deploy")
    base = directory / "deploy" / "base" / "deployment.yaml"
    deployment = yaml.safe_load(base.read_text())
    deployment["spec"]["replicas"] = 3
    base.write_text(yaml.safe_dump(deployment, sort_keys=False))
    documents = as_argocd_renders(
        directory / "deploy" / "overlays" / environment,
        name_prefix=kustomize["namePrefix"],
        common_labels=kustomize["commonLabels"],
        patches=kustomize["patches"],
    )
    for document in documents:
        validate_kubernetes(document)
    return {document["kind"]: document for document in documents}


def application_source(plan_tenants: Path, application: str, stack: str = "prod") -> dict[str, Any]:
    plan = plan_stack(stack, plan_tenants)
    (found,) = [r for r in of_type(plan, "kubernetes:argoproj.io/v1alpha1:Application") if r.name == application]
    return found.inputs["spec"]["source"]["kustomize"]


@pytest.mark.slow
def test_the_applications_patches_set_size_scaling_rollout_and_variables_on_the_prefixed_objects(
    tmp_path: Path,
) -> None:
    tenants = write_tenants(tmp_path / "tenants", shop={"services": [
        {"name": "api", "size": "medium", "replicas": {"prod": {"min": 3, "max": 6}}}
    ]})  # fmt: skip
    objects = argocd_build(tmp_path / "repo", application_source(tenants, "shop-api-prod"), "prod")

    deployment, autoscaler = objects["Deployment"], objects["HorizontalPodAutoscaler"]
    assert deployment["metadata"]["name"] == autoscaler["metadata"]["name"] == "api-wso2mi-service"
    assert deployment["metadata"]["labels"]["imaas.io/service"] == autoscaler["metadata"]["labels"]["imaas.io/service"]
    assert autoscaler["metadata"]["labels"]["imaas.io/service"] == "api"
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1536Mi", "ephemeral-storage": "256Mi"},
        "limits": {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "1Gi"},
    }
    variables = {variable["name"]: variable["value"] for variable in container["env"]}
    assert (
        variables.items()
        >= {
            "IMAAS_TENANT": "shop",
            "IMAAS_ENVIRONMENT": "prod",
            "IMAAS_SERVICE": "api",
            # The stack's collector, which the tenant's NetworkPolicy opens (tests/test_traces.py).
            "IMAAS_OTLP_ENDPOINT": "http://opentelemetry-collector.observability.svc.cluster.local:4317",
        }.items()
    )
    assert variables["JAVA_OPTS"].startswith("-DenablePrometheusApi"), "the rest of the container is the template's"
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 6)
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "api-wso2mi-service"
    assert autoscaler["spec"]["metrics"][0]["resource"]["name"] == "cpu", "the repository's metrics stay"


@pytest.mark.slow
def test_each_environment_gets_its_own_bounds_and_variables(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", shop={"services": [{"name": "api"}]})
    objects = argocd_build(tmp_path / "repo", application_source(tenants, "shop-api-test", stack="dev"), "test")

    autoscaler = objects["HorizontalPodAutoscaler"]
    default = DEFAULT_REPLICAS["test"]
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (default.min, default.max)
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert {"name": "IMAAS_ENVIRONMENT", "value": "test"} in container["env"]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}


# --- what the cluster gets ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_metrics_server_is_installed_from_its_pinned_chart_with_two_replicas(stack: str) -> None:
    (release,) = [r for r in of_type(example_plan(stack), RELEASE) if r.inputs["chart"] == "metrics-server"]
    assert release.parent.endswith(f"{types.METRICS_SERVER}::metrics-server")
    inputs = release.inputs
    assert (inputs["version"], inputs["namespace"]) == ("3.13.1", "kube-system")
    assert inputs["repositoryOpts"] == {"repo": "https://kubernetes-sigs.github.io/metrics-server/"}
    values = inputs["values"]
    assert values["replicas"] == 2
    assert values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert values["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 1
    (rule,) = values["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert rule["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.slow
def test_metrics_server_is_left_out_where_the_cluster_has_one(tmp_path: Path) -> None:
    plan = plan_stack("prod", write_tenants(tmp_path / "tenants", ab={}), preinstalled=["argocd", "metricsServer"])
    assert [r for r in of_type(plan, RELEASE) if r.inputs["chart"] == "metrics-server"] == []


@pytest.mark.slow
def test_an_unsized_container_gets_the_small_service_size(tmp_path: Path) -> None:
    plan = example_plan("prod")
    small = BUILTIN_SERVICE_SIZES["small"]
    for limit_range in of_type(plan, LIMITS):
        (container,) = [item for item in limit_range.inputs["spec"]["limits"] if item["type"] == "Container"]
        assert container["defaultRequest"] == small.requests.as_kubernetes()
        assert container["default"] == small.limits.as_kubernetes()
