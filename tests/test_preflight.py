"""`imaas preflight` on recorded API answers: a local server on 127.0.0.1 speaks the few Kubernetes API paths the
checks read (tests/data/preflight), and a generated kubeconfig points the official client at it. A fresh EKS cluster
fails each check with its message, a ready one passes, and each check has a failing case of its own."""

from __future__ import annotations

import copy
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from planning import PROJECT_DIR
from typer.testing import CliRunner

from imaas import cli
from imaas.inputs.stack_file import read_stack_file
from imaas.model.settings import GATEWAY_API_VERSION
from imaas.preflight import checks
from imaas.preflight.cluster import UnreadableError

DATA = Path(__file__).resolve().parent / "data" / "preflight"
TOKEN = "preflight-test-token"
runner = CliRunner()


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())["paths"]


class FakeApiServer:
    """The API server of one recorded cluster: GET of a recorded path answers its JSON, anything else 404."""

    def __init__(self) -> None:
        self.paths: dict[str, Any] = {}
        self.requests: list[tuple[str, str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.partition("?")[0]
                server.requests.append(("GET", self.path, self.headers.get("Authorization", "")))
                found = server.paths.get(path)
                status, body = (200, found) if found is not None else (404, {"kind": "Status", "code": 404})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def api() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    yield server
    server.close()


def write_kubeconfig(path: Path, server: str, context: str = "imaas-dev") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "recorded", "cluster": {"server": server}}],
                "users": [{"name": "reader", "user": {"token": TOKEN}}],
                "contexts": [{"name": context, "context": {"cluster": "recorded", "user": "reader"}}],
                "current-context": context,
            }
        )
    )
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's stack files (the shipped dev stack: storageClass gp3, Argo CD preinstalled)."""
    directory = tmp_path / "project"
    directory.mkdir()
    for stack in ("dev", "prod"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{stack}.yaml", directory)
    monkeypatch.setattr(cli.output, "PROJECT_DIR", directory)
    return directory


def set_settings(project: Path, **settings: object) -> None:
    """Pulumi.dev.yaml of `project` with `imaas:` settings set (None removes one)."""
    path = project / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    for key, value in settings.items():
        if value is None:
            document["config"].pop(f"imaas:{key}", None)
        else:
            document["config"][f"imaas:{key}"] = value
    path.write_text(yaml.safe_dump(document))


def preflight(
    api: FakeApiServer, project: Path, tmp_path: Path, paths: dict[str, Any], *args: str
) -> tuple[int, list[str], str]:
    """Exit code, the not-ready lines (stdout) and the whole output of `preflight --stack dev`."""
    api.paths = paths
    api.requests.clear()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
    result = runner.invoke(cli.app, ["preflight", "--stack", "dev", "--kubeconfig", str(kubeconfig), *args])
    assert "Traceback" not in result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("imaas-dev: ")]
    return result.exit_code, lines, result.output


def not_ready(lines: list[str]) -> dict[str, str]:
    return dict(line.removeprefix("imaas-dev: ").split(": ", 1) for line in lines)


@pytest.mark.fast
def test_a_ready_cluster_passes_every_check(api: FakeApiServer, project: Path, tmp_path: Path) -> None:
    code, lines, output = preflight(api, project, tmp_path, recorded("ready"))
    assert (code, lines) == (0, []), output
    assert f"imaas-dev can hold the platform ({len(checks.CHECKS)} checks)" in output
    assert "✓ storage-class: StorageClass gp3 (imaas:storageClass), provisioner ebs.csi.aws.com" in output
    # Read only, as the kubeconfig's user, and nothing but the recorded cluster.
    assert {method for method, _, _ in api.requests} == {"GET"}
    assert {auth for _, _, auth in api.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.fast
def test_a_fresh_eks_cluster_names_each_missing_piece(api: FakeApiServer, project: Path, tmp_path: Path) -> None:
    code, lines, output = preflight(api, project, tmp_path, recorded("fresh-eks"))
    assert code == 1
    found = not_ready(lines)
    assert found == {
        "kubernetes-version": "Kubernetes v1.29.10-eks-7f9249a: the admission policies (ValidatingAdmissionPolicy) "
        "need 1.30 or later; upgrade the cluster",
        "admission-api": "admissionregistration.k8s.io/v1 does not serve validatingadmissionpolicies, "
        "validatingadmissionpolicybindings: the tenant fences at admission need ValidatingAdmissionPolicy "
        "(Kubernetes 1.30 or later)",
        "storage-class": "StorageClass gp3 (imaas:storageClass) does not exist: create it (EKS: the "
        "aws-ebs-csi-driver add-on and a class of provisioner ebs.csi.aws.com, type gp3) or name an existing one",
        "network-policy": "NetworkPolicies are not enforced: the VPC CNI (aws-node) enforces them only with "
        "enableNetworkPolicy (missing: enable-network-policy-controller in ConfigMap kube-system/amazon-vpc-cni; "
        "--enable-network-policy=true on aws-node's aws-network-policy-agent); set the vpc-cni add-on's "
        'configuration {"enableNetworkPolicy": "true"}, or run Calico or Cilium',
        "argocd": "imaas:preinstalled says the cluster has Argo CD, but its CRDs are missing "
        "(applications.argoproj.io, appprojects.argoproj.io): install Argo CD, or let the stack install it (drop "
        "argocd from imaas:preinstalled)",
        "add-ons": "the cluster serves metrics.k8s.io already (kube-system/metrics-server, the EKS add-on or another "
        "install): list metricsServer in imaas:preinstalled",
        "ingress-controller": "ingress-nginx 1.11.3 (ingress-nginx/ingress-nginx-controller) is affected by "
        "CVE-2025-1097, CVE-2025-1098, CVE-2025-24514 and CVE-2025-1974 (configuration injection, admission "
        "webhook): upgrade the controller to 1.11.5, 1.12.1 or later",
        "cluster-ranges": "pod or service addresses outside imaas:clusterCidrs: 100.64.12.7, 100.64.40.3 (the VPC "
        "CNI's custom networking puts pods in the ENIConfig subnets, often 100.64.0.0/10); add the cluster's pod "
        "and service ranges to imaas:clusterCidrs, or tenants reach those pods past their network policies",
        "gateway-api": f"the Gateway API CRDs {GATEWAY_API_VERSION} or later are needed (ListenerSet is standard from "
        "v1.5): gateways.gateway.networking.k8s.io (missing), listenersets.gateway.networking.k8s.io (missing), "
        "httproutes.gateway.networking.k8s.io (missing); install the standard channel's CRDs of that release",
    }
    # The shipped stack needs no workload identity (no Tempo bucket role); with one, EKS's issuer is there on any
    # cluster, so that check has a failing case of its own below.
    assert "✓ workload-identity: none needed" in output
    assert "✓ secret-stores: IRSA through the cluster's issuer" in output
    assert f"9 of {len(checks.CHECKS)} checks not ready on imaas-dev" in output


DEV_OIDC_PROVIDER = (
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
)


def _without(path: str) -> Callable[[dict[str, Any]], None]:
    return lambda paths: paths.pop(path)


def _items(path: str, change: Callable[[list[dict[str, Any]]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda paths: change(paths[path]["items"])


def _data(path: str, key: str, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda paths: paths[path]["data"].__setitem__(key, value)


def _ingress(version: str) -> Callable[[dict[str, Any]], None]:
    def change(paths: dict[str, Any]) -> None:
        container = paths["/apis/apps/v1/deployments"]["items"][0]["spec"]["template"]["spec"]["containers"][0]
        container["image"] = f"registry.k8s.io/ingress-nginx/controller:v{version}"

    return change


def _aws_node_args(args: list[str]) -> Callable[[dict[str, Any]], None]:
    def change(paths: dict[str, Any]) -> None:
        aws_node = paths["/apis/apps/v1/daemonsets"]["items"][0]
        aws_node["spec"]["template"]["spec"]["containers"][1]["args"] = args

    return change


def _metrics_server(paths: dict[str, Any]) -> None:
    fresh = recorded("fresh-eks")
    for path in (
        "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io",
        "/api/v1/namespaces/kube-system/services/metrics-server",
    ):
        paths[path] = fresh[path]


def _pods_in(ip: str) -> Callable[[dict[str, Any]], None]:
    return lambda paths: paths["/api/v1/pods"]["items"][0]["status"].__setitem__("podIPs", [{"ip": ip}])


FAILING: dict[str, tuple[Callable[[dict[str, Any]], None], dict[str, object], str]] = {
    "kubernetes-version": (
        lambda paths: paths["/version"].update(minor="29", gitVersion="v1.29.3"),
        {},
        "Kubernetes v1.29.3: the admission policies",
    ),
    "admission-api": (
        _without("/apis/admissionregistration.k8s.io/v1"),
        {},
        "admissionregistration.k8s.io/v1 does not serve validatingadmissionpolicies",
    ),
    "storage-class": (_items("/apis/storage.k8s.io/v1/storageclasses", list.clear), {}, "StorageClass gp3"),
    "storage-class-default": (
        lambda paths: None,
        {"storageClass": None},
        "no default StorageClass, and imaas:storageClass is unset",
    ),
    "storage-class-driver": (
        _items("/apis/storage.k8s.io/v1/csidrivers", list.clear),
        {},
        "StorageClass gp3 (imaas:storageClass) provisions through the CSI driver ebs.csi.aws.com, which the "
        "cluster does not have (EKS: add the aws-ebs-csi-driver add-on, with an IAM role)",
    ),
    "network-policy": (
        _aws_node_args(["--enable-network-policy=false"]),
        {},
        "the VPC CNI (aws-node) enforces them only with enableNetworkPolicy",
    ),
    "network-policy-controller": (
        _data("/api/v1/namespaces/kube-system/configmaps/amazon-vpc-cni", "enable-network-policy-controller", "false"),
        {},
        "missing: enable-network-policy-controller in ConfigMap kube-system/amazon-vpc-cni)",
    ),
    "network-policy-none": (
        _items("/apis/apps/v1/daemonsets", list.clear),
        {},
        "no NetworkPolicy enforcement recognised (Calico, Cilium, or the EKS VPC CNI with enableNetworkPolicy)",
    ),
    "argocd": (
        _items(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            lambda items: [items.remove(item) for item in list(items) if "argoproj.io" in item["metadata"]["name"]],
        ),
        {},
        "its CRDs are missing (applications.argoproj.io, appprojects.argoproj.io)",
    ),
    "argocd-impersonation": (
        _data("/api/v1/namespaces/argocd/configmaps/argocd-cm", "application.sync.impersonation.enabled", "false"),
        {},
        'Argo CD does not sync with impersonation: set application.sync.impersonation.enabled: "true" in '
        "ConfigMap argocd/argocd-cm",
    ),
    "argocd-known-hosts": (
        _data(
            "/api/v1/namespaces/argocd/configmaps/argocd-ssh-known-hosts-cm",
            "ssh_known_hosts",
            "gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeHHE5UOzRdf\n",
        ),
        {},
        "Argo CD knows no SSH host key of github.com: every service repository is read over SSH with a deploy key",
    ),
    "add-ons": (_metrics_server, {}, "the cluster serves metrics.k8s.io already (kube-system/metrics-server"),
    "add-ons-argocd": (
        lambda paths: None,
        {"preinstalled": None, "argocdImpersonation": None},
        "the cluster has Argo CD's CRDs from another install: list argocd in imaas:preinstalled",
    ),
    "ingress-controller": (_ingress("1.12.0"), {}, "ingress-nginx 1.12.0 (ingress-nginx/ingress-nginx-controller)"),
    "ingress-controller-1.11": (_ingress("1.11.4"), {}, "ingress-nginx 1.11.4"),
    "cluster-ranges": (_pods_in("100.64.3.9"), {}, "outside imaas:clusterCidrs: 100.64.3.9;"),
    "workload-identity": (
        lambda paths: (
            paths["/apis/apps/v1/daemonsets"]["items"].pop(2),
            paths.pop("/.well-known/openid-configuration"),
        ),
        {
            "observability": {
                "tempo": {
                    "bucket": {
                        "name": "imaas-traces",
                        "region": "eu-west-1",
                        "roleArn": "arn:aws:iam::123456789012:role/imaas-tempo",
                    }
                }
            },
            # (the tenants' secret stores, which need the issuer too, are the next check's)
            "tenantSecrets": None,
        },
        "arn:aws:iam::123456789012:role/imaas-tempo needs a workload identity, and the cluster has neither the EKS "
        "Pod Identity agent nor a public service-account issuer",
    ),
    # The stack names another cluster's OIDC provider: no store could assume its role.
    "secret-stores": (
        lambda paths: paths["/.well-known/openid-configuration"].update(
            issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/ANOTHERCLUSTER"
        ),
        {},
        "imaas:tenantSecrets.oidcProviderArn is for issuer https://oidc.eks.eu-west-1.amazonaws.com/id/"
        "EXAMPLED539D4633E53DE1B71EXAMPLE, but this cluster's service-account issuer is https://oidc.eks.eu-west-1."
        "amazonaws.com/id/ANOTHERCLUSTER",
    ),
    "secret-stores-crds": (
        lambda paths: None,
        {
            "tenantSecrets": {
                "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/"
                "EXAMPLED539D4633E53DE1B71EXAMPLE",
                "writers": {
                    "mechanism": "roleMapping",
                    "samlProviderArn": "arn:aws:iam::123456789012:saml-provider/idp",
                },
            },
            "preinstalled": ["argocd", "externalSecrets"],
        },
        "External Secrets Operator's CRDs are missing (secretstores.external-secrets.io",
    ),
    "gateway-api": (
        _items(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            lambda items: [
                item["metadata"]["annotations"].update({"gateway.networking.k8s.io/bundle-version": "v1.4.0"})
                for item in items
                if item["metadata"]["name"] == "listenersets.gateway.networking.k8s.io"
            ],
        ),
        {},
        "listenersets.gateway.networking.k8s.io (1.4.0)",
    ),
    "gateway-api-class": (
        _without("/apis/gateway.networking.k8s.io/v1/gatewayclasses/example-gateway-class"),
        {},
        "GatewayClass example-gateway-class (imaas:exposure.gatewayClassName) does not exist",
    ),
}


CHECK_NAMES = (
    "kubernetes-version",
    "admission-api",
    "storage-class",
    "network-policy",
    "argocd",
    "add-ons",
    "ingress-controller",
    "cluster-ranges",
    "workload-identity",
    "secret-stores",
    "gateway-api",
)
"""What each check of checks.CHECKS is called in the output, in order."""


def check_of(case: str) -> str:
    return max((name for name in CHECK_NAMES if case.startswith(name)), key=len)


@pytest.mark.fast
@pytest.mark.parametrize("case", FAILING)
def test_each_check_fails_on_its_own(api: FakeApiServer, project: Path, tmp_path: Path, case: str) -> None:
    change, settings, message = FAILING[case]
    paths = copy.deepcopy(recorded("ready"))
    change(paths)
    if settings:
        set_settings(project, **settings)
    code, lines, output = preflight(api, project, tmp_path, paths)
    assert code == 1, output
    [line] = lines  # only this check fails
    name, text = line.removeprefix("imaas-dev: ").split(": ", 1)
    assert name == check_of(case)
    assert message in text, text


@pytest.mark.fast
def test_every_check_has_a_failing_case(api: FakeApiServer, project: Path, tmp_path: Path) -> None:
    _, _, output = preflight(api, project, tmp_path, recorded("ready"))
    assert [line.split(": ")[0].removeprefix("✓ ") for line in output.splitlines()[: len(checks.CHECKS)]] == list(
        CHECK_NAMES
    )
    assert {check_of(case) for case in FAILING} == set(CHECK_NAMES)


@pytest.mark.fast
def test_the_ingress_nginx_fixed_versions() -> None:
    assert [checks._vulnerable(v) for v in [(1, 11, 4), (1, 11, 5), (1, 12, 0), (1, 12, 1), (1, 13, 0), (1, 9, 9)]] == [
        True,
        False,
        True,
        False,
        False,
        True,
    ]


@pytest.mark.fast
def test_usage_errors_exit_2(api: FakeApiServer, project: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["preflight", "--stack", "staging"])
    assert result.exit_code == 2
    assert "Pulumi.staging.yaml: no settings for stack 'staging'" in result.output
    other = write_kubeconfig(tmp_path / "other", api.url, context="somewhere-else")
    result = runner.invoke(cli.app, ["preflight", "--stack", "dev", "--kubeconfig", str(other)])
    assert result.exit_code == 2
    assert (
        "kubeconfig has no context 'imaas-dev' (contexts: somewhere-else) (kubernetes:context of Pulumi.dev.yaml)"
        in (result.output)
    )
    result = runner.invoke(cli.app, ["preflight", "--stack", "dev", "--kubeconfig", str(tmp_path / "missing")])
    assert result.exit_code == 2


@pytest.mark.fast
def test_an_unreachable_cluster_is_not_ready(project: Path, tmp_path: Path) -> None:
    server = FakeApiServer()
    url = server.url
    server.close()  # nothing listens there any more
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
    result = runner.invoke(cli.app, ["preflight", "--stack", "dev", "--kubeconfig", str(kubeconfig)])
    assert result.exit_code == 1
    assert f"imaas-dev: the API server {url} did not answer" in result.output
    assert "Traceback" not in result.output


@pytest.mark.fast
def test_a_path_the_credentials_may_not_read_is_named(project: Path) -> None:
    """A 403 fails the check that reads the path, naming it, and leaves the others to report."""
    paths = recorded("ready")

    class Reader:
        def get(self, path: str) -> Any:
            if path == "/api/v1/nodes":
                raise UnreadableError(path)
            return paths.get(path.partition("?")[0])

    findings = checks.run_checks(checks.Preflight(read_stack_file(project, "dev").settings, Reader()))
    assert [(f.check, f.message) for f in findings if not f.ready] == [
        ("cluster-ranges", "not allowed to read /api/v1/nodes: preflight needs read access to it")
    ]
