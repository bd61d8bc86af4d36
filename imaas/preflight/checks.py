"""What a cluster must have before a stack's first `up`, one small function per piece (listed in `CHECKS`): each
reads the few API paths it needs and says what is there, or what is missing and what to do about it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from imaas.model.settings import GATEWAY_API_VERSION, StackSettings
from imaas.preflight.cluster import Cluster, UnreadableError

ADMISSION_POLICY_MINOR = 30
"""ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.30."""
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
# In-tree provisioners that Kubernetes now hands to a CSI driver (CSI migration): the driver must be installed.
MIGRATED_PROVISIONERS = {
    "kubernetes.io/aws-ebs": "ebs.csi.aws.com",
    "kubernetes.io/gce-pd": "pd.csi.storage.gke.io",
    "kubernetes.io/azure-disk": "disk.csi.azure.com",
    "kubernetes.io/cinder": "cinder.csi.openstack.org",
    "kubernetes.io/vsphere-volume": "csi.vsphere.vmware.com",
}
NO_PROVISIONER = "kubernetes.io/no-provisioner"
# ingress-nginx's configuration-injection advisories of March 2025 (CVE-2025-1097, -1098, -24514 and -1974,
# "IngressNightmare"): fixed in controller 1.11.5 and 1.12.1.
INGRESS_NGINX_CVES = "CVE-2025-1097, CVE-2025-1098, CVE-2025-24514 and CVE-2025-1974"
INGRESS_NGINX_FIXED = ((1, 11, 5), (1, 12, 1))
INGRESS_NGINX_IMAGE = re.compile(r"/ingress-nginx/controller(-chroot)?:v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+)")
ARGOCD_CRDS = ("applications.argoproj.io", "appprojects.argoproj.io")
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
IMPERSONATION_KEY = "application.sync.impersonation.enabled"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
HELM_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"


@dataclass(frozen=True)
class Finding:
    check: str
    ready: bool
    message: str


@dataclass(frozen=True)
class Preflight:
    """What a check knows: the stack's settings and its cluster."""

    settings: StackSettings
    cluster: Cluster

    def items(self, path: str) -> list[dict[str, Any]]:
        listed = self.cluster.get(path)
        return list((listed or {}).get("items") or [])

    def daemonsets(self) -> list[dict[str, Any]]:
        return self.items("/apis/apps/v1/daemonsets")

    def daemonset(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next((ds for ds in self.daemonsets() if _name(ds) == (namespace, name)), None)

    def crds(self) -> set[str]:
        return {crd["metadata"]["name"] for crd in self.items(CRDS)}

    def configmap(self, namespace: str, name: str) -> dict[str, str] | None:
        found = self.cluster.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        return None if found is None else dict(found.get("data") or {})


Check = Callable[[Preflight], Finding]


def _name(obj: dict[str, Any]) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return metadata.get("namespace", ""), metadata.get("name", "")


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def kubernetes_version(preflight: Preflight) -> Finding:
    info = preflight.cluster.get("/version") or {}
    major = re.sub(r"\D", "", str(info.get("major", "")))
    minor = re.sub(r"\D", "", str(info.get("minor", "")))
    shown = info.get("gitVersion") or f"{major}.{minor}"
    if not major or not minor:
        return Finding("kubernetes-version", False, "the API server did not say its version (/version)")
    if (int(major), int(minor)) < (1, ADMISSION_POLICY_MINOR):
        return Finding(
            "kubernetes-version",
            False,
            f"Kubernetes {shown}: the admission policies (ValidatingAdmissionPolicy) need 1.{ADMISSION_POLICY_MINOR} "
            "or later; upgrade the cluster",
        )
    return Finding("kubernetes-version", True, f"Kubernetes {shown}")


def _is_default(storage_class: dict[str, Any]) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def _provisioner_problem(preflight: Preflight, provisioner: str) -> str | None:
    """Why a class with this provisioner provisions nothing, if it does not."""
    if provisioner == NO_PROVISIONER:
        return "has no provisioner (kubernetes.io/no-provisioner): claims wait for volumes made by hand"
    driver = MIGRATED_PROVISIONERS.get(provisioner, provisioner)
    is_csi = provisioner in MIGRATED_PROVISIONERS or ".csi." in driver or driver.endswith(".csi.aws.com")
    drivers = {item["metadata"]["name"] for item in preflight.items("/apis/storage.k8s.io/v1/csidrivers")}
    if is_csi and driver not in drivers:
        hint = " (EKS: add the aws-ebs-csi-driver add-on, with an IAM role)" if driver == "ebs.csi.aws.com" else ""
        return f"provisions through the CSI driver {driver}, which the cluster does not have{hint}"
    return None


def storage_class(preflight: Preflight) -> Finding:
    classes = preflight.items("/apis/storage.k8s.io/v1/storageclasses")
    wanted = preflight.settings.storage_class
    if wanted is not None:
        chosen = next((item for item in classes if item["metadata"]["name"] == wanted), None)
        if chosen is None:
            return Finding(
                "storage-class",
                False,
                f"StorageClass {wanted} (imaas:storageClass) does not exist: create it (EKS: the aws-ebs-csi-driver "
                "add-on and a class of provisioner ebs.csi.aws.com, type gp3) or name an existing one",
            )
        what = f"StorageClass {wanted} (imaas:storageClass)"
    else:
        defaults = [item for item in classes if _is_default(item)]
        if not defaults:
            return Finding(
                "storage-class",
                False,
                "no default StorageClass, and imaas:storageClass is unset: the platform's volumes (Loki, Tempo, "
                "Grafana, the tenants' Prometheus) would stay Pending. Name a class in imaas:storageClass, or mark "
                "one default (EKS from 1.30 on has none, nor an EBS CSI driver, unless added)",
            )
        chosen = defaults[0]
        what = f"default StorageClass {chosen['metadata']['name']}"
    provisioner = str(chosen.get("provisioner", ""))
    problem = _provisioner_problem(preflight, provisioner)
    if problem:
        return Finding("storage-class", False, f"{what} {problem}")
    return Finding("storage-class", True, f"{what}, provisioner {provisioner}")


def _vpc_cni_policy(preflight: Preflight, aws_node: dict[str, Any]) -> Finding:
    """The VPC CNI enforces NetworkPolicies only with enableNetworkPolicy: the add-on then sets the controller's
    flag in its ConfigMap and the node agent's --enable-network-policy=true."""
    cni = preflight.configmap("kube-system", "amazon-vpc-cni") or {}
    controller = cni.get("enable-network-policy-controller") == "true"
    agent = any(
        "--enable-network-policy=true" in (container.get("args") or [])
        for container in _containers(aws_node)
        if container.get("name") == "aws-network-policy-agent"
    )
    if controller and agent:
        return Finding("network-policy", True, "the VPC CNI enforces NetworkPolicies (enableNetworkPolicy)")
    missing = [
        *([] if controller else ["enable-network-policy-controller in ConfigMap kube-system/amazon-vpc-cni"]),
        *([] if agent else ["--enable-network-policy=true on aws-node's aws-network-policy-agent"]),
    ]
    return Finding(
        "network-policy",
        False,
        "NetworkPolicies are not enforced: the VPC CNI (aws-node) enforces them only with enableNetworkPolicy "
        f"(missing: {'; '.join(missing)}); set the vpc-cni add-on's configuration "
        '{"enableNetworkPolicy": "true"}, or run Calico or Cilium',
    )


POLICY_ENGINES = (("calico-node", ".projectcalico.org", "Calico"), ("cilium", ".cilium.io", "Cilium"))
"""Network policy engines recognised besides the VPC CNI: (DaemonSet, CRD group suffix, name)."""


def network_policy(preflight: Preflight) -> Finding:
    names = {_name(ds)[1] for ds in preflight.daemonsets()}
    for daemonset, _, engine in POLICY_ENGINES:
        if daemonset in names:
            return Finding("network-policy", True, f"{engine} enforces NetworkPolicies (DaemonSet {daemonset})")
    aws_node = preflight.daemonset("kube-system", "aws-node")
    if aws_node is not None:
        return _vpc_cni_policy(preflight, aws_node)
    for daemonset, crd_group, engine in POLICY_ENGINES:
        if any(crd.endswith(crd_group) for crd in preflight.crds()):
            return Finding(
                "network-policy",
                False,
                f"{engine}'s CRDs are there but not its DaemonSet {daemonset}: no node enforces NetworkPolicies; "
                f"finish {engine}'s installation",
            )
    return Finding(
        "network-policy",
        False,
        "no NetworkPolicy enforcement recognised (Calico, Cilium, or the EKS VPC CNI with enableNetworkPolicy): "
        "without it tenants are not isolated from each other or from the shared stores",
    )


def argocd(preflight: Preflight) -> Finding:
    settings = preflight.settings
    if settings.installs("argocd"):
        return Finding("argocd", True, "installed by this stack (argocd not in imaas:preinstalled)")
    missing = [crd for crd in ARGOCD_CRDS if crd not in preflight.crds()]
    if missing:
        return Finding(
            "argocd",
            False,
            f"imaas:preinstalled says the cluster has Argo CD, but its CRDs are missing ({', '.join(missing)}): "
            "install Argo CD, or let the stack install it (drop argocd from imaas:preinstalled)",
        )
    namespace = settings.argocd_namespace
    cm = preflight.configmap(namespace, "argocd-cm")
    if cm is None or cm.get(IMPERSONATION_KEY) != "true":
        return Finding(
            "argocd",
            False,
            f'Argo CD does not sync with impersonation: set {IMPERSONATION_KEY}: "true" in ConfigMap '
            f"{namespace}/argocd-cm (imaas:argocdNamespace), or tenant projects would sync as Argo CD's own account",
        )
    if not _knows_github(preflight.configmap(namespace, KNOWN_HOSTS_CONFIGMAP)):
        return Finding(
            "argocd",
            False,
            f"Argo CD knows no SSH host key of {GITHUB_SSH_HOST}: every service repository is read over SSH with a "
            f"deploy key, and Argo CD checks host keys; add GitHub's to {KNOWN_HOSTS_KEY} in ConfigMap "
            f"{namespace}/{KNOWN_HOSTS_CONFIGMAP} (Argo CD's install manifests carry them)",
        )
    return Finding(
        "argocd", True, f"Argo CD's CRDs, impersonation on in {namespace}/argocd-cm, {GITHUB_SSH_HOST}'s SSH host keys"
    )


KNOWN_HOSTS_CONFIGMAP = "argocd-ssh-known-hosts-cm"
KNOWN_HOSTS_KEY = "ssh_known_hosts"
GITHUB_SSH_HOST = "github.com"


def _knows_github(known_hosts: dict[str, str] | None) -> bool:
    """Whether Argo CD's known_hosts (OpenSSH format: hosts, comma-separated, then the key) has a line for GitHub."""
    lines = (line.split() for line in (known_hosts or {}).get(KNOWN_HOSTS_KEY, "").splitlines())
    return any(len(fields) >= 3 and GITHUB_SSH_HOST in fields[0].split(",") for fields in lines)


def admission_api(preflight: Preflight) -> Finding:
    group = preflight.cluster.get("/apis/admissionregistration.k8s.io/v1") or {}
    served = {resource.get("name") for resource in group.get("resources") or []}
    kinds = ("validatingadmissionpolicies", "validatingadmissionpolicybindings")
    missing = [kind for kind in kinds if kind not in served]
    if missing:
        return Finding(
            "admission-api",
            False,
            f"admissionregistration.k8s.io/v1 does not serve {', '.join(missing)}: the tenant fences at admission "
            f"need ValidatingAdmissionPolicy (Kubernetes 1.{ADMISSION_POLICY_MINOR} or later)",
        )
    return Finding("admission-api", True, "admissionregistration.k8s.io/v1 serves ValidatingAdmissionPolicy")


def _foreign(obj: dict[str, Any], release: str, namespace: str) -> bool:
    """Whether `obj` was installed by something other than the platform's Helm release `release` in `namespace`."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return (annotations.get(HELM_RELEASE_ANNOTATION), annotations.get(HELM_NAMESPACE_ANNOTATION)) != (
        release,
        namespace,
    )


def _collisions(preflight: Preflight) -> Iterator[str]:
    settings = preflight.settings
    if settings.installs("metricsServer"):
        api = preflight.cluster.get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
        service = (api or {}).get("spec", {}).get("service") or {}
        if service:
            namespace, name = service.get("namespace"), service.get("name")
            where = f"{namespace}/{name}"
            found = preflight.cluster.get(f"/api/v1/namespaces/{namespace}/services/{name}")
            if found is None or _foreign(found, "metrics-server", "kube-system"):
                yield (
                    f"the cluster serves metrics.k8s.io already ({where}, the EKS add-on or another install): "
                    "list metricsServer in imaas:preinstalled"
                )
    if settings.installs("argocd"):
        for crd in preflight.items(CRDS):
            if crd["metadata"]["name"] in ARGOCD_CRDS and _foreign(crd, "argocd", settings.argocd_namespace):
                yield ("the cluster has Argo CD's CRDs from another install: list argocd in imaas:preinstalled")
                break
    if settings.observability.enabled:
        for crd in preflight.items(CRDS):
            name = crd["metadata"]["name"]
            if name.endswith(".monitoring.coreos.com") and _foreign(
                crd, "prometheus-operator-crds", settings.observability.namespace
            ):
                yield (
                    f"the Prometheus Operator's CRDs ({name}, ...) come from another install, which the platform's "
                    "prometheus-operator-crds release would collide with: remove it, or turn observability off"
                )
                break


def conflicting_addons(preflight: Preflight) -> Finding:
    found = list(_collisions(preflight))
    if found:
        return Finding("add-ons", False, "; ".join(found))
    return Finding("add-ons", True, "nothing the platform installs is there already")


def _vulnerable(version: tuple[int, ...]) -> bool:
    low, high = INGRESS_NGINX_FIXED
    return version < low or (version[:2] == high[:2] and version < high)


def ingress_controller(preflight: Preflight) -> Finding:
    seen: list[str] = []
    for deployment in [*preflight.items("/apis/apps/v1/deployments"), *preflight.daemonsets()]:
        for container in _containers(deployment):
            match = INGRESS_NGINX_IMAGE.search(str(container.get("image", "")))
            if not match:
                continue
            namespace, name = _name(deployment)
            shown = f"ingress-nginx {match['version']} ({namespace}/{name})"
            if _vulnerable(_version(match["version"])):
                return Finding(
                    "ingress-controller",
                    False,
                    f"{shown} is affected by {INGRESS_NGINX_CVES} (configuration injection, admission webhook): "
                    "upgrade the controller to 1.11.5, 1.12.1 or later",
                )
            seen.append(shown)
    if seen:
        return Finding("ingress-controller", True, ", ".join(seen))
    return Finding("ingress-controller", True, "no ingress-nginx controller found")


def _outside(addresses: list[str], ranges: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    outside = []
    for text in addresses:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if not any(network.version == r.version and network.subnet_of(r) for r in ranges):  # type: ignore[arg-type]
            outside.append(text)
    return outside


def cluster_ranges(preflight: Preflight) -> Finding:
    ranges = [ipaddress.ip_network(cidr) for cidr in preflight.settings.cluster_cidrs]
    service = preflight.cluster.get("/api/v1/namespaces/default/services/kubernetes") or {}
    service_ips = [ip for ip in (service.get("spec") or {}).get("clusterIPs") or [] if ip and ip != "None"]
    node_ranges = [
        cidr for node in preflight.items("/api/v1/nodes") for cidr in (node.get("spec") or {}).get("podCIDRs") or []
    ]
    pod_ips = [
        entry.get("ip", "")
        for pod in preflight.items("/api/v1/pods?limit=500")
        if not (pod.get("spec") or {}).get("hostNetwork")
        for entry in (pod.get("status") or {}).get("podIPs") or []
    ]
    outside = sorted(set(_outside(service_ips, ranges) + _outside(node_ranges, ranges) + _outside(pod_ips, ranges)))
    if outside:
        shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        hint = ""
        aws_node = preflight.daemonset("kube-system", "aws-node")
        custom = any(
            env.get("name") == "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG" and env.get("value") == "true"
            for container in _containers(aws_node or {})
            for env in container.get("env") or []
        )
        if custom:
            hint = " (the VPC CNI's custom networking puts pods in the ENIConfig subnets, often 100.64.0.0/10)"
        return Finding(
            "cluster-ranges",
            False,
            f"pod or service addresses outside imaas:clusterCidrs: {shown}{hint}; add the cluster's pod and service "
            "ranges to imaas:clusterCidrs, or tenants reach those pods past their network policies",
        )
    counted = f"{len(service_ips)} service, {len(node_ranges)} node pod range(s), {len(pod_ips)} pod address(es)"
    return Finding("cluster-ranges", True, f"inside imaas:clusterCidrs ({counted})")


def workload_identity(preflight: Preflight) -> Finding:
    """Tempo's S3 role (observability.tempo.bucket.roleArn) is assumed through IRSA or EKS Pod Identity."""
    bucket = preflight.settings.observability.tempo.bucket
    if bucket is None:
        return Finding("workload-identity", True, "none needed (no observability.tempo.bucket)")
    role = bucket.role_arn
    if preflight.daemonset("kube-system", POD_IDENTITY_AGENT) is not None:
        return Finding("workload-identity", True, f"EKS Pod Identity agent (kube-system/{POD_IDENTITY_AGENT})")
    discovery = preflight.cluster.get("/.well-known/openid-configuration") or {}
    issuer = str(discovery.get("issuer", ""))
    if issuer.startswith("https://") and not re.search(r"\.svc(\.|/|$)|//kubernetes\.default", issuer):
        return Finding(
            "workload-identity",
            True,
            f"service-account issuer {issuer}: IRSA works once IAM has an OIDC provider for it (not visible from "
            "the cluster: aws iam list-open-id-connect-providers)",
        )
    return Finding(
        "workload-identity",
        False,
        f"{role} needs a workload identity, and the cluster has neither the EKS Pod Identity agent nor a public "
        f"service-account issuer ({issuer or 'no /.well-known/openid-configuration'}): add the eks-pod-identity-agent "
        "add-on and an association for Tempo's account, or an IAM OIDC provider for the cluster's issuer",
    )


def _issuer(preflight: Preflight) -> str:
    discovery = preflight.cluster.get("/.well-known/openid-configuration") or {}
    return str(discovery.get("issuer", ""))


ESO_CRDS = ("secretstores.external-secrets.io", "externalsecrets.external-secrets.io")


def secret_stores(preflight: Preflight) -> Finding:
    """Each tenant namespace's secret store assumes its IAM role through IRSA: the provider the stack names must be
    the one of this cluster's service-account issuer; and ESO's CRDs must be there, or come with the stack."""
    config = preflight.settings.tenant_secrets
    if config is None:
        return Finding("secret-stores", True, "none configured (no imaas:tenantSecrets)")
    if not preflight.settings.installs("externalSecrets"):
        missing = [crd for crd in ESO_CRDS if crd not in preflight.crds()]
        if missing:
            return Finding(
                "secret-stores",
                False,
                f"imaas:preinstalled lists externalSecrets, but External Secrets Operator's CRDs are "
                f"missing ({', '.join(missing)}): install it, or let the stack install it",
            )
    issuer = _issuer(preflight)
    if issuer != f"https://{config.oidc_issuer}":
        return Finding(
            "secret-stores",
            False,
            f"imaas:tenantSecrets.oidcProviderArn is for issuer https://{config.oidc_issuer}, but this cluster's "
            f"service-account issuer is {issuer or 'unknown (no /.well-known/openid-configuration)'}: no tenant "
            "namespace's secret store could assume its role; create the IAM OIDC provider of this cluster's issuer "
            "(eksctl utils associate-iam-oidc-provider) and name it",
        )
    return Finding("secret-stores", True, f"IRSA through the cluster's issuer {issuer}")


GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CRDS = tuple(f"{plural}.{GATEWAY_GROUP}" for plural in ("gateways", "listenersets", "httproutes"))
BUNDLE_VERSION = f"{GATEWAY_GROUP}/bundle-version"


def gateway_api(preflight: Preflight) -> Finding:
    """Exposed services need the Gateway API CRDs with ListenerSet (standard from v1.5) and the controller's
    GatewayClass."""
    exposure = preflight.settings.exposure
    if exposure is None:
        return Finding("gateway-api", True, "none configured (no imaas:exposure)")
    wanted = _version(GATEWAY_API_VERSION.removeprefix("v"))
    crds = {crd["metadata"]["name"]: crd for crd in preflight.items(CRDS)}
    old = []
    for name in GATEWAY_CRDS:
        annotations = (crds.get(name, {}).get("metadata") or {}).get("annotations") or {}
        found = str(annotations.get(BUNDLE_VERSION, "")).removeprefix("v").split("-")[0]
        if name not in crds or not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", found) or _version(found) < wanted:
            old.append(f"{name} ({found or 'missing'})")
    if old:
        return Finding(
            "gateway-api",
            False,
            f"the Gateway API CRDs {GATEWAY_API_VERSION} or later are needed (ListenerSet is standard from v1.5): "
            f"{', '.join(old)}; install the standard channel's CRDs of that release",
        )
    name = exposure.gateway_class_name
    if preflight.cluster.get(f"/apis/{GATEWAY_GROUP}/v1/gatewayclasses/{name}") is None:
        return Finding(
            "gateway-api",
            False,
            f"GatewayClass {name} (imaas:exposure.gatewayClassName) does not exist: install the Gateway controller "
            "and its class, or name the class it has",
        )
    return Finding("gateway-api", True, f"Gateway API CRDs at {GATEWAY_API_VERSION} or later, GatewayClass {name}")


CHECKS: tuple[Check, ...] = (
    kubernetes_version,
    admission_api,
    storage_class,
    network_policy,
    argocd,
    conflicting_addons,
    ingress_controller,
    cluster_ranges,
    workload_identity,
    secret_stores,
    gateway_api,
)
"""Every check, in the order they report."""


def run_checks(preflight: Preflight) -> list[Finding]:
    findings = []
    for check in CHECKS:
        try:
            findings.append(check(preflight))
        except UnreadableError as err:
            name = check.__name__.replace("_", "-")
            findings.append(Finding(name, False, str(err)))
    return findings
