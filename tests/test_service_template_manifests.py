"""The service template's Kubernetes manifests, rendered per environment by the real kustomize and validated against
the Kubernetes schemas: autoscaling, rollouts at full capacity, drains, spreading, and what stays true once Argo CD
adds the platform's name prefix, labels and patches."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TEMPLATE_DIR, write_tenants
from kube_schemas import ValidationError, validate_kubernetes
from kustomize import KustomizeError, as_argocd_renders, build, only
from planning import of_type, plan_stack
from tokens import APPLICATION

from imaas.declarations.telemetry import Endpoints
from imaas.model.quantity import parse_quantity

# The platform's clusters (as tests/test_plan_output.py validates the platform's own objects).
IMAGE_NAME = "wso2mi-service"
CONTAINER = "wso2mi"
# environment: (minReplicas, maxReplicas) as the template's overlays state them; the platform replaces both with the
# tenant file's bounds at every sync, so they are the template's own values, not the platform's defaults.
ENVIRONMENTS = {"dev": (1, 2), "test": (1, 2), "prod": (2, 4)}
KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
SMALL = {"requests": {"cpu": "250m", "memory": "768Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
PLATFORM_VARIABLES = ("IMAAS_OTLP_ENDPOINT", "IMAAS_TENANT", "IMAAS_ENVIRONMENT", "IMAAS_SERVICE")
SERVICE_LABEL = "imaas.io/service"


def rendered(environment: str) -> list[dict[str, Any]]:
    return build(TEMPLATE_DIR / "deploy" / "overlays" / environment)


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = pod_spec(deployment)["containers"]
    return container


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {variable["name"]: variable["value"] for variable in container_of(deployment)["env"]}


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    return only(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def base_image() -> str:
    kustomization = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "kustomization.yaml").read_text())
    [entry] = [image for image in kustomization["images"] if image["name"] == IMAGE_NAME]
    return f"{entry['newName']}:{entry['newTag']}"


# ---------------------------------------------------------------------------------------------------------------
# Every environment, as the template has it.


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_rendered_object_is_valid_kubernetes(environment: str) -> None:
    objects = rendered(environment)
    assert {obj["kind"] for obj in objects} == KINDS
    for obj in objects:
        validate_kubernetes(obj)
        assert obj["metadata"]["name"] == IMAGE_NAME, "the platform patches these objects by this name"
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == IMAGE_NAME


@pytest.mark.slow
def test_the_schema_validation_can_fail() -> None:
    hpa = only(rendered("prod"), "HorizontalPodAutoscaler")
    hpa["spec"]["targetCPUUtilizationPercentage"] = 80  # autoscaling/v1's field, unknown to v2
    with pytest.raises(ValidationError):
        validate_kubernetes(hpa)


@pytest.mark.slow
def test_kustomize_errors_fail_the_test(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(KustomizeError, match=r"missing\.yaml"):
        build(overlay)


@pytest.mark.fast
def test_a_missing_kubectl_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="kubectl"):
        rendered("dev")


@pytest.mark.slow
@pytest.mark.parametrize(("environment", "bounds"), ENVIRONMENTS.items())
def test_the_autoscaler_owns_the_replica_count_within_each_environments_bounds(
    environment: str, bounds: tuple[int, int]
) -> None:
    objects = rendered(environment)
    deployment = only(objects, "Deployment")
    assert "replicas" not in deployment["spec"], "a count in the manifest would be reset at every Argo CD sync"
    hpa = only(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == bounds
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": IMAGE_NAME}
    targets = {
        metric["resource"]["name"]: metric["resource"]["target"]
        for metric in hpa["spec"]["metrics"]
        if metric["type"] == "Resource"
    }
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 80},
        "memory": {"type": "Utilization", "averageUtilization": 120},
    }
    # Utilization is of the requests: the memory target must lie below the limit, or it could never be reached.
    memory = {kind: parse_quantity(value["memory"]) for kind, value in container_of(deployment)["resources"].items()}
    assert memory["requests"] * targets["memory"]["averageUtilization"] / 100 < memory["limits"]
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_rollouts_add_a_pod_before_removing_one(environment: str) -> None:
    strategy = only(rendered(environment), "Deployment")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_terminating_pod_drains_before_the_server_stops(environment: str) -> None:
    deployment = only(rendered(environment), "Deployment")
    sleep = container_of(deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]
    # Endpoint removal reaches every kube-proxy and the ingress within seconds; the server then needs time of its
    # own to stop, inside the grace period, which counts the preStop hook too.
    assert sleep >= 15
    assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= sleep + 20


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_disruptions_take_one_pod_at_a_time_whatever_the_count(environment: str) -> None:
    objects = rendered(environment)
    budget = only(objects, "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1 and "minAvailable" not in budget
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert selects(budget["selector"]["matchLabels"], pod_labels(objects))


def spread_problems(deployment: dict[str, Any]) -> list[str]:
    """What is wrong with a Deployment's topology spread: a selector that misses its own pods, or a key in both
    matchLabelKeys and the selector (which the API server refuses)."""
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    problems = []
    for constraint in pod_spec(deployment).get("topologySpreadConstraints", []):
        selector = constraint["labelSelector"]["matchLabels"]
        if not selects(selector, labels):
            problems.append(f"{constraint['topologyKey']}: the selector misses the Deployment's pods")
        both = set(constraint.get("matchLabelKeys", [])) & set(selector)
        if both:
            problems.append(f"{constraint['topologyKey']}: {sorted(both)} in both matchLabelKeys and the selector")
    return problems


@pytest.mark.slow
def test_prod_spreads_over_nodes_and_zones_counting_only_its_current_pods() -> None:
    deployment = only(rendered("prod"), "Deployment")
    constraints = {c["topologyKey"]: c for c in pod_spec(deployment)["topologySpreadConstraints"]}
    assert set(constraints) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert constraints["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert constraints["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"
    for constraint in constraints.values():
        assert constraint["maxSkew"] == 1
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]
    assert spread_problems(deployment) == []
    for environment in ("dev", "test"):
        assert "topologySpreadConstraints" not in pod_spec(only(rendered(environment), "Deployment"))


@pytest.mark.slow
def test_a_spread_key_in_both_matchlabelkeys_and_the_selector_is_found() -> None:
    deployment = only(rendered("prod"), "Deployment")
    constraint = pod_spec(deployment)["topologySpreadConstraints"][0]
    constraint["matchLabelKeys"].append("app.kubernetes.io/name")
    assert spread_problems(deployment) == [
        "kubernetes.io/hostname: ['app.kubernetes.io/name'] in both matchLabelKeys and the selector"
    ]
    constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] = "other"
    assert "kubernetes.io/hostname: the selector misses the Deployment's pods" in spread_problems(deployment)


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_pods_start_at_the_platforms_small_size_and_name_their_environment(environment: str) -> None:
    deployment = only(rendered(environment), "Deployment")
    container = container_of(deployment)
    assert container["name"] == CONTAINER
    assert container["resources"] == SMALL
    assert container["image"] == base_image(), "every environment runs the image named in deploy/base"
    env = env_of(deployment)
    assert set(PLATFORM_VARIABLES) <= set(env)
    assert env["IMAAS_ENVIRONMENT"] == environment
    assert "-DenablePrometheusApi=true" in env["JAVA_OPTS"].split()


def references_declared_later(container: dict[str, Any]) -> list[str]:
    """`$(NAME)` references Kubernetes leaves unexpanded: to a variable not declared above the one using it."""
    declared: set[str] = set()
    problems = []
    for variable in container["env"]:
        for name in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", variable.get("value", "")):
            if name not in declared:
                problems.append(f"{variable['name']} uses {name}")
        declared.add(variable["name"])
    return problems


@pytest.mark.slow
def test_the_traces_service_name_is_composed_from_the_variables_above_it() -> None:
    deployment = only(rendered("dev"), "Deployment")
    assert env_of(deployment)["SERVICE_NAME"] == "$(IMAAS_SERVICE).$(IMAAS_TENANT)-$(IMAAS_ENVIRONMENT)"
    container = container_of(deployment)
    assert references_declared_later(container) == []
    container["env"].reverse()
    assert references_declared_later(container) == [
        "SERVICE_NAME uses IMAAS_SERVICE",
        "SERVICE_NAME uses IMAAS_TENANT",
        "SERVICE_NAME uses IMAAS_ENVIRONMENT",
    ]


@pytest.mark.fast
def test_the_image_reference_lives_only_in_the_base() -> None:
    for environment in ENVIRONMENTS:
        overlay = yaml.safe_load(
            (TEMPLATE_DIR / "deploy" / "overlays" / environment / "kustomization.yaml").read_text()
        )
        assert overlay["resources"][0] == "../../base"
        assert "images" not in overlay, "promotion by merge carries the image: overlays must not pin their own"
        assert "replicas" not in overlay, "the autoscaler owns the count"
    base = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "kustomization.yaml").read_text())
    assert [image["name"] for image in base["images"]] == [IMAGE_NAME]
    deployment = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "deployment.yaml").read_text())
    assert pod_spec(deployment)["containers"][0]["image"] == IMAGE_NAME


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_pods_pass_pod_security_restricted(environment: str) -> None:
    pod = pod_spec(only(rendered(environment), "Deployment"))
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= {"emptyDir", "configMap", "secret", "projected", "persistentVolumeClaim"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == 802
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not security.get("privileged")
        assert security["readOnlyRootFilesystem"] is False
        assert {mount["mountPath"] for mount in container["volumeMounts"]} >= {"/tmp"}
        # The preStop hook is Kubernetes' own sleep, which needs nothing from the image.
        assert set(container["lifecycle"]["preStop"]) == {"sleep"}


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_probes_and_metrics(environment: str) -> None:
    objects = rendered(environment)
    deployment = only(objects, "Deployment")
    template = deployment["spec"]["template"]
    container = container_of(deployment)
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 9201}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 8290}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["initialDelaySeconds"] >= 10, "MI needs about 20 s to start"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8290, "https": 8253, "metrics": 9201}
    assert template["metadata"]["labels"]["imaas.io/metrics"] == "true"
    service = only(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert {port["name"]: port["port"] for port in service["spec"]["ports"]} == {"http": 8290, "metrics": 9201}
    assert selects(service["spec"]["selector"], template["metadata"]["labels"])


# ---------------------------------------------------------------------------------------------------------------
# As Argo CD renders it for a service: the platform's name prefix, labels and patches added.


# A tenant whose two services share its namespaces, with sizes and bounds of their own: what the platform's
# Applications patch onto the template must show in what Argo CD renders.
SERVICES = {
    "orders": {"name": "orders", "size": "medium", "replicas": {env: {"min": 2, "max": 3} for env in ENVIRONMENTS}},
    "billing": {"name": "billing", "replicas": {env: {"min": 2, "max": 3} for env in ENVIRONMENTS}},
}
MEDIUM_LIMITS = {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "1Gi"}


@pytest.fixture(scope="module")
def applications(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The kustomize source of each of the platform's Applications for the tenant `payments`, by name, from the
    plans of both stacks."""
    tenants = write_tenants(tmp_path_factory.mktemp("tenants"), payments={"services": list(SERVICES.values())})
    return {
        application.name: application.inputs["spec"]["source"]["kustomize"]
        for stack in ("dev", "prod")
        for application in of_type(plan_stack(stack, tenants), APPLICATION)
    }


def argocd_rendered(
    tmp_path: Path, applications: dict[str, dict[str, Any]], environment: str, service: str
) -> list[dict[str, Any]]:
    """The template's overlay as Argo CD renders it for the platform's own Application of `service`."""
    source = applications[f"payments-{service}-{environment}"]
    copy = tmp_path / service
    shutil.copytree(TEMPLATE_DIR / "deploy", copy / "deploy")
    return as_argocd_renders(
        copy / "deploy" / "overlays" / environment,
        name_prefix=source["namePrefix"],
        common_labels=source["commonLabels"],
        patches=source["patches"],
    )


@pytest.mark.slow
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_argocds_renaming_keeps_every_reference_pointing_at_the_service(
    tmp_path: Path, applications: dict[str, dict[str, Any]], environment: str
) -> None:
    objects = argocd_rendered(tmp_path, applications, environment, "orders")
    assert {obj["kind"] for obj in objects} == KINDS
    for obj in objects:
        validate_kubernetes(obj)
        assert obj["metadata"]["name"] == "orders-wso2mi-service"
        assert obj["metadata"]["labels"][SERVICE_LABEL] == "orders"
    deployment = only(objects, "Deployment")
    labels = pod_labels(objects)
    assert labels[SERVICE_LABEL] == "orders"
    hpa = only(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 3)
    for selector in (
        deployment["spec"]["selector"]["matchLabels"],
        only(objects, "Service")["spec"]["selector"],
        only(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ):
        assert selector[SERVICE_LABEL] == "orders" and selects(selector, labels)
    assert spread_problems(deployment) == []
    for constraint in pod_spec(deployment).get("topologySpreadConstraints", []):
        assert constraint["labelSelector"]["matchLabels"][SERVICE_LABEL] == "orders"
    container = container_of(deployment)
    assert container["resources"]["limits"] == MEDIUM_LIMITS
    env = env_of(deployment)
    assert (env["IMAAS_TENANT"], env["IMAAS_ENVIRONMENT"], env["IMAAS_SERVICE"]) == ("payments", environment, "orders")
    assert env["IMAAS_OTLP_ENDPOINT"] == Endpoints("observability").otlp_grpc
    assert references_declared_later(container) == [], "the platform's values replace the defaults in place"


@pytest.mark.slow
def test_two_services_of_a_tenant_share_a_namespace_without_selecting_each_others_pods(
    tmp_path: Path, applications: dict[str, dict[str, Any]]
) -> None:
    orders = argocd_rendered(tmp_path, applications, "prod", "orders")
    billing = argocd_rendered(tmp_path, applications, "prod", "billing")
    for mine, theirs in ((orders, billing), (billing, orders)):
        deployment = only(mine, "Deployment")
        selectors = [
            deployment["spec"]["selector"]["matchLabels"],
            only(mine, "Service")["spec"]["selector"],
            only(mine, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
            *(c["labelSelector"]["matchLabels"] for c in pod_spec(deployment)["topologySpreadConstraints"]),
        ]
        assert not any(selects(selector, pod_labels(theirs)) for selector in selectors)
    # Without the platform's label, the template's own selectors would take in the other service's pods too.
    plain = only(rendered("prod"), "Service")["spec"]["selector"]
    assert selects(plain, pod_labels(billing)) and selects(plain, pod_labels(orders))
