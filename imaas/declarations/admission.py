"""The admission rules of tenant namespaces (DESIGN section 6, "Fenced at admission too") as plain data.

What a tenant deploys itself, through Argo CD into its own namespaces, never passes the plan guardrails: the cluster
checks it, with one ValidatingAdmissionPolicy per rule (components/admission_policies.py), bound to every namespace
labelled `imaas.io/tenant`. The same definition feeds the guardrail that every policy is declared as defined and
bound to every tenant namespace (imaas/guardrails/admission.py), and the tests that run each expression.

The expressions keep to the CEL common to Kubernetes and the CEL libraries on PyPI (`has`, `all`, `exists`, `in`,
`size`, `startsWith`, `endsWith`, string concatenation): none of Kubernetes' extension libraries, no optional
fields. A tenant's name and environment are read from the labels of the object's namespace (`namespaceObject`),
which only the platform sets, so a policy needs no parameter object; the stack's host suffix, registry and
allow-list are written into the expressions as literals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imaas.declarations import charts, exposure, isolation, naming, secrets
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

POLICY_PREFIX = "imaas-"
TENANT = f"namespaceObject.metadata.labels[{json.dumps(naming.TENANT_LABEL)}]"
ENVIRONMENT = f"namespaceObject.metadata.labels[{json.dumps(naming.ENVIRONMENT_LABEL)}]"
USERNAME = "request.userInfo.username"
WRITES = ("CREATE", "UPDATE")

# The cluster's own controllers, which write every Service's Endpoints and EndpointSlices: as their own
# ServiceAccounts where kube-controller-manager runs with --use-service-account-credentials (EKS does), as
# kube-controller-manager itself where it does not.
CLUSTER_CONTROLLERS = (
    "system:serviceaccount:kube-system:endpoint-controller",
    "system:serviceaccount:kube-system:endpointslice-controller",
    "system:serviceaccount:kube-system:endpointslicemirroring-controller",
    "system:kube-controller-manager",
)
# The annotations of the shared ingress controller (ingress-nginx) a tenant's Ingress may carry: those ingress-nginx
# itself rates Low risk (docs/user-guide/nginx-configuration/annotations-risk.md, controller-v1.15.1), and no other.
# Everything rated Medium, High or Critical is refused, among them the snippets, `server-alias`, `auth-url`,
# `auth-tls-secret`, `proxy-ssl-secret`, and `mirror-target` and `mirror-host`, with which the controller would copy
# every request of the tenant's host to any address (CVE-2025-1098 on unpatched controllers). An annotation the
# controller adds later is refused until it is rated and listed here.
INGRESS_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
INGRESS_ALLOWED_ANNOTATIONS = (
    "backend-protocol", "auth-secret-type", "auth-type", "canary", "canary-weight", "canary-weight-total",
    "auth-tls-pass-certificate-to-upstream", "auth-tls-verify-depth", "client-body-buffer-size",
    "connection-proxy-header", "cors-allow-credentials", "cors-max-age", "enable-cors", "custom-http-errors",
    "default-backend", "disable-proxy-intercept-errors", "enable-global-auth", "auth-always-set-cookie",
    "auth-keepalive", "auth-keepalive-requests", "auth-keepalive-share-vars", "auth-keepalive-timeout", "auth-method",
    "http2-push-preload", "load-balance", "enable-access-log", "enable-rewrite-log", "mirror-request-body",
    "enable-modsecurity", "enable-owasp-core-rules", "enable-opentelemetry", "opentelemetry-trust-incoming-span",
    "proxy-buffer-size", "proxy-buffering", "proxy-buffers-number", "proxy-busy-buffers-size",
    "proxy-connect-timeout", "proxy-http-version", "proxy-max-temp-file-size", "proxy-next-upstream-timeout",
    "proxy-next-upstream-tries", "proxy-read-timeout", "proxy-request-buffering", "proxy-send-timeout",
    "proxy-ssl-protocols", "proxy-ssl-server-name", "proxy-ssl-verify", "proxy-ssl-verify-depth", "limit-allowlist",
    "limit-burst-multiplier", "limit-connections", "limit-rate", "limit-rate-after", "limit-rpm", "limit-rps",
    "from-to-www-redirect", "permanent-redirect-code", "relative-redirects", "temporal-redirect-code",
    "ssl-redirect", "use-regex", "ssl-ciphers", "ssl-prefer-server-ciphers", "ssl-passthrough", "satisfy",
    "service-upstream", "affinity", "affinity-canary-behavior", "session-cookie-change-on-failure",
    "session-cookie-conditional-samesite-none", "session-cookie-samesite", "session-cookie-secure",
    "upstream-hash-by-subset", "upstream-hash-by-subset-size", "upstream-vhost", "use-port-in-redirects",
)  # fmt: skip
# The workloads whose pod templates run containers, by where their pod spec is.
POD_SPECS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "object.spec": (("Pod",), (("", "pods"), ("", "pods/ephemeralcontainers"))),
    "object.spec.template.spec": (
        ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"),
        (
            ("apps", "deployments"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("apps", "replicasets"),
            ("batch", "jobs"),
            ("", "replicationcontrollers"),
        ),
    ),
    "object.spec.jobTemplate.spec.template.spec": (("CronJob",), (("batch", "cronjobs"),)),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
MONITORING_GROUP = "monitoring.coreos.com"
# Every field of the monitor kinds that names a file on the scraper (Prometheus Operator 0.91 CRDs: ServiceMonitor
# alone has them; PodMonitor and Probe take secrets only). A tenant's monitor naming one would have the shared
# Prometheus send its own ServiceAccount token, or present its certificates, to the tenant's pods.
MONITOR_FILE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "servicemonitors": ("object.spec.endpoints", ("bearerTokenFile", "tlsConfig.caFile", "tlsConfig.certFile",
                                                  "tlsConfig.keyFile")),
}  # fmt: skip
# Kinds of the Prometheus Operator that no tenant makes: the servers run with the operator's reach and mount what
# they are told, a ScrapeConfig reads any namespace and files (fileSDConfigs), an AlertmanagerConfig configures
# the shared Alertmanager, and a Probe has the scraper call any address (its prober's URL). The platform's own
# (alert routes) come from its identity alone.
PLATFORM_ONLY_MONITORING = ("prometheuses", "prometheusagents", "alertmanagers", "thanosrulers", "scrapeconfigs",
                            "alertmanagerconfigs", "probes")  # fmt: skip
# A tenant's monitors, by kind: where their scrape endpoints are. Each endpoint is scraped at its own pod's address;
# a relabeling that writes one of Prometheus' scrape labels (`__address__`, `__scheme__`, `__metrics_path__`,
# `__param_<name>`, every label starting with `__`) would send the shared scraper elsewhere, to itself at
# `/federate` for one, which answers with every tenant's series. `labelmap` is refused outright: it writes labels
# named after other labels, `__address__` included, whatever its replacement says.
MONITOR_ENDPOINTS = {
    "servicemonitors": ("ServiceMonitor", "object.spec.endpoints"),
    "podmonitors": ("PodMonitor", "object.spec.podMetricsEndpoints"),
}
SCRAPE_LABEL_PREFIX = "__"
# A metric's name, which metric relabelings may rename: no scrape label.
METRIC_NAME_LABEL = "__name__"
RELABELING_LISTS = ("relabelings", "metricRelabelings")
LABELMAP_ACTIONS = ("labelmap", "LabelMap")
# Endpoint fields that send the scrape, or a token request, somewhere else than the monitored pod: a proxy (the
# scraper's own environment's, or any URL), or an OAuth 2 token URL the scraper calls with its own network reach.
MONITOR_REFUSED_FIELDS = ("proxyUrl", "proxyFromEnvironment", "proxyConnectHeader", "oauth2")
# The annotation of a tenant namespace that lists its tenant's identity-provider groups, comma-separated (groups
# cannot hold commas), for the admission policy on the platform's objects. Only the platform writes Namespaces.
TENANT_GROUPS_ANNOTATION = "imaas.io/tenant-groups"
# cert-manager's controller, as its chart (charts.CERT_MANAGER, in its own namespace) runs it: it writes the
# requests, orders and challenges of the platform's certificates, and an HTTP-01 solver's route.
CERT_MANAGER_CONTROLLER = f"system:serviceaccount:{charts.CERT_MANAGER_NAMESPACE}:cert-manager"


class Parameter(StrEnum):
    """What a rule reads besides the object: from the namespace's labels, or from the stack's settings."""

    TENANT = "tenant"
    ENVIRONMENT = "environment"
    HOST_SUFFIX = "ingressHostSuffix"
    REGISTRY = "ecrRegistry"
    IMAGE_ALLOW_LIST = "imageAllowList"
    PLATFORM_IDENTITIES = "platformIdentities"
    TENANT_GROUPS = "tenantGroups"
    PRIORITY_CLASSES = "priorityClasses"


@dataclass(frozen=True)
class Resources:
    """One resource rule of a policy's match constraints."""

    api_groups: tuple[str, ...]
    api_versions: tuple[str, ...]
    resources: tuple[str, ...]
    operations: tuple[str, ...] = WRITES
    scope: str | None = None
    """Namespaced or Cluster; unset: both (the API server's `*`)."""

    def as_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "apiGroups": list(self.api_groups),
            "apiVersions": list(self.api_versions),
            "resources": list(self.resources),
            "operations": list(self.operations),
        }
        if self.scope:
            rule["scope"] = self.scope
        return rule


@dataclass(frozen=True)
class Validation:
    expression: str
    message: str
    """What was refused and why, in a tenant's words."""
    message_expression: str | None = None
    """The same, naming the tenant's own suffix or registry path; the message stands in when it fails."""

    def as_validation(self) -> dict[str, Any]:
        validation = {"expression": self.expression, "message": self.message, "reason": "Forbidden"}
        if self.message_expression:
            validation["messageExpression"] = self.message_expression
        return validation


@dataclass(frozen=True)
class AdmissionRule:
    name: str
    """The policy's and its binding's name."""
    matches: tuple[Resources, ...]
    validations: tuple[Validation, ...]
    exempt: tuple[str, ...] = ()
    """User names the rule does not apply to. Never a tenant's deployer account: Argo CD acts as each namespace's
    `argocd-deployer` by impersonation, so that is the user name of everything a tenant deploys."""
    reads: frozenset[Parameter] = frozenset()
    conditions: tuple[tuple[str, str], ...] = ()
    """Further match conditions, (name, expression): the policy applies where every one holds."""

    def match_conditions(self) -> list[dict[str, str]]:
        conditions = [{"name": name, "expression": expression} for name, expression in self.conditions]
        if not self.exempt:
            return conditions
        return [{"name": "not-exempt", "expression": f"!({USERNAME} in {_list(self.exempt)})"}, *conditions]

    def policy_spec(self) -> dict[str, Any]:
        """The ValidatingAdmissionPolicy's `spec`."""
        spec: dict[str, Any] = {
            # An expression that fails to evaluate refuses the request: the fence holds when in doubt.
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [match.as_rule() for match in self.matches]},
            "validations": [validation.as_validation() for validation in self.validations],
        }
        conditions = self.match_conditions()
        if conditions:
            spec["matchConditions"] = conditions
        return spec

    def binding_spec(self) -> dict[str, Any]:
        """The ValidatingAdmissionPolicyBinding's `spec`: every tenant namespace, refusing what fails."""
        return {
            "policyName": self.name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": isolation.TENANT_NAMESPACES},
        }


def _literal(value: str) -> str:
    # A JSON string is a CEL string literal: the same quotes and escapes.
    return json.dumps(value)


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(map(_literal, values)) + "]"


def _has(base: str, path: str) -> str:
    """Whether `base` holds the field at the dotted `path`, each step guarded: under cel-go, `has(a.b.c)` is an error
    (not false) where `a` has no `b`, and an error refuses the request."""
    steps = path.split(".")
    return " && ".join(f"has({base}.{'.'.join(steps[: i + 1])})" for i in range(len(steps)))


def _no_external_ips() -> AdmissionRule:
    return AdmissionRule(
        name=f"{POLICY_PREFIX}no-external-ips",
        matches=(Resources(("",), ("v1",), ("services",)),),
        validations=(
            Validation(
                f"!({_has('object', 'spec.externalIPs')}) || object.spec.externalIPs.size() == 0",
                "A Service may not set spec.externalIPs: the cluster would send traffic meant for those addresses, "
                "other tenants' included, to your pods. Reach your service through an Ingress instead.",
            ),
        ),
    )


def _no_external_name() -> AdmissionRule:
    return AdmissionRule(
        name=f"{POLICY_PREFIX}no-external-name",
        matches=(Resources(("",), ("v1",), ("services",)),),
        validations=(
            Validation(
                f"!({_has('object', 'spec.type')}) || object.spec.type != 'ExternalName'",
                "A Service may not be of type ExternalName: behind the shared ingress controller it would proxy to "
                "any name, another tenant's services included. Call outside systems by their own name.",
            ),
        ),
    )


def _ingress_hosts(settings: StackSettings) -> AdmissionRule:
    suffix = f"'.' + {TENANT} + '.' + {ENVIRONMENT} + {_literal('.' + settings.ingress_host_suffix)}"
    hosts_message = f"'Ingress hosts must be <name>' + {suffix}"
    return AdmissionRule(
        name=f"{POLICY_PREFIX}ingress-hosts",
        matches=(Resources(("networking.k8s.io",), ("v1",), ("ingresses",)),),
        validations=(
            Validation(
                f"{_has('object', 'spec.rules')} && object.spec.rules.size() > 0 && "
                f"object.spec.rules.all(r, has(r.host) && r.host.endsWith({suffix}))",
                "Every rule of an Ingress needs a host under your own suffix "
                f"(<name>.<tenant>.<environment>.{settings.ingress_host_suffix}): a rule without a host, or with "
                "another host, would take requests meant for other tenants.",
                f"{hosts_message} + ' (every rule, with a host): a rule without one, or with another host, would "
                "take requests meant for other tenants'",
            ),
            # A TLS entry without hosts is the controller's default certificate for whatever it matches: on some
            # controllers a catch-all.
            Validation(
                f"!({_has('object', 'spec.tls')}) || object.spec.tls.all(t, has(t.hosts) && t.hosts.size() > 0 && "
                f"t.hosts.all(h, h.endsWith({suffix})))",
                "Every TLS entry of an Ingress must list its hosts, all under your own suffix (<name>.<tenant>."
                f"<environment>.{settings.ingress_host_suffix}): an entry without hosts would be a certificate for "
                "any host.",
                f"{hosts_message} + ', TLS hosts included, and every TLS entry must list its hosts'",
            ),
            Validation(
                f"!({_has('object', 'spec.defaultBackend')})",
                "An Ingress may not set spec.defaultBackend: on the shared ingress controller it would answer for "
                "every host that no other Ingress claims. Name your hosts in rules instead.",
            ),
        ),
        reads=frozenset({Parameter.TENANT, Parameter.ENVIRONMENT, Parameter.HOST_SUFFIX}),
    )


def _ingress_annotations() -> AdmissionRule:
    prefix = _literal(INGRESS_ANNOTATION_PREFIX)
    allowed = _list([INGRESS_ANNOTATION_PREFIX + name for name in INGRESS_ALLOWED_ANNOTATIONS])
    return AdmissionRule(
        name=f"{POLICY_PREFIX}ingress-annotations",
        matches=(Resources(("networking.k8s.io",), ("v1",), ("ingresses",)),),
        validations=(
            Validation(
                "!has(object.metadata.annotations) || "
                f"object.metadata.annotations.all(k, !k.startsWith({prefix}) || k in {allowed})",
                "An Ingress may carry only the ingress-nginx annotations that ingress-nginx rates Low risk (timeouts, "
                "buffers, rate limits, CORS, affinity, redirects' codes, ...): the others (snippets, server-alias, "
                "auth-url, mirror-target, mirror-host, rewrite-target, ...) add hosts, configuration or destinations "
                "to the controller all tenants share. The list is in docs/isolation.md.",
                "'An Ingress may carry only the ingress-nginx annotations ingress-nginx rates Low risk, not ' + "
                f"object.metadata.annotations.filter(k, k.startsWith({prefix}) && !(k in {allowed}))[0] + "
                "': the others add hosts, configuration or destinations to the controller all tenants share'",
            ),
        ),
    )


def _image_registry(settings: StackSettings) -> AdmissionRule:
    own = f"{_literal(settings.ecr_registry + '/')} + {TENANT} + '/'"

    def allowed(image: str) -> str:
        check = f"{image}.startsWith({own})"
        if settings.image_allow_list:
            check += f" || {image} in {_list(settings.image_allow_list)}"
        return check

    def every_container(spec: str) -> str:
        # The pod spec, and each list of containers, are optional in the schema: what is absent runs nothing. A
        # container without an image is refused, and so is an image volume (Kubernetes 1.33+, admitted by Pod
        # Security restricted) without a reference: the nodes would mount any image they can pull.
        checks = [f"(!has({spec}.{name}) || {spec}.{name}.all(c, has(c.image) && ({allowed('c.image')})))" for name
                  in CONTAINER_LISTS]  # fmt: skip
        checks.append(
            f"(!has({spec}.volumes) || {spec}.volumes.all(v, !has(v.image) || "
            f"(has(v.image.reference) && ({allowed('v.image.reference')}))))"
        )
        return f"!({_has('object', spec.removeprefix('object.'))}) || ({' && '.join(checks)})"

    validations = []
    matches = []
    for spec, (kinds, resources) in POD_SPECS.items():
        validations.append(
            Validation(
                f"!(object.kind in {_list(kinds)}) || ({every_container(spec)})",
                "Containers, init containers, ephemeral containers and image volumes may use only images of your "
                f"own ECR repositories ({settings.ecr_registry}/<tenant>/...) or the platform's allowed images: the "
                "nodes can pull every tenant's images, so nothing else keeps another tenant's code and data out of "
                "your namespace.",
                "'Containers, init containers, ephemeral containers and image volumes may use only images from ' + "
                f"{own} + ' (your own ECR repositories) or the images the platform allows'",
            )
        )
        for group, resource in resources:
            # Ephemeral containers are added to a running Pod, by an update of its subresource.
            operations = ("UPDATE",) if resource.endswith("/ephemeralcontainers") else WRITES
            matches.append(Resources((group,), ("v1",), (resource,), operations))
    return AdmissionRule(
        name=f"{POLICY_PREFIX}image-registry",
        matches=tuple(matches),
        validations=tuple(validations),
        reads=frozenset({Parameter.TENANT, Parameter.REGISTRY, Parameter.IMAGE_ALLOW_LIST}),
    )


def _no_endpoints() -> AdmissionRule:
    return AdmissionRule(
        name=f"{POLICY_PREFIX}no-endpoints",
        matches=(
            Resources(("",), ("v1",), ("endpoints",)),
            Resources(("discovery.k8s.io",), ("v1",), ("endpointslices",)),
        ),
        validations=(
            Validation(
                "false",
                "Endpoints and EndpointSlices are written by the cluster from your Services' selectors: a "
                "hand-written one could point your Service, and the ingress controller behind it, at another "
                "tenant's pods. Give the Service a selector instead.",
            ),
        ),
        exempt=CLUSTER_CONTROLLERS,
    )


def _monitors_read_no_files() -> AdmissionRule:
    validations = []
    for resource, (endpoints, fields) in MONITOR_FILE_FIELDS.items():
        unset = " && ".join(f"!({_has('e', field)})" for field in fields)
        validations.append(
            Validation(
                f"!has({endpoints}) || {endpoints}.all(e, {unset})",
                f"A monitor may not name files of the scraper ({', '.join(fields)}): the shared Prometheus would "
                "send its own credentials to your pods. Use the secret fields (bearerTokenSecret, authorization, "
                f"tlsConfig's ca, cert and keySecret) with Secrets of your namespace instead. ({resource})",
            )
        )
    return AdmissionRule(
        name=f"{POLICY_PREFIX}monitors-read-no-files",
        matches=(Resources((MONITORING_GROUP,), ("*",), tuple(MONITOR_FILE_FIELDS)),),
        validations=tuple(validations),
    )


def _platform_only_monitoring(settings: StackSettings) -> AdmissionRule:
    return AdmissionRule(
        name=f"{POLICY_PREFIX}platform-only-monitoring",
        matches=(Resources((MONITORING_GROUP,), ("*",), PLATFORM_ONLY_MONITORING),),
        validations=(
            Validation(
                "false",
                "Prometheus, PrometheusAgent, Alertmanager, ThanosRuler, ScrapeConfig, AlertmanagerConfig and Probe "
                "objects are the platform's: they run or configure what all tenants share, or have the shared "
                "scraper call any address. Have your metrics scraped with a PodMonitor or ServiceMonitor of your "
                "namespace.",
            ),
        ),
        exempt=tuple(settings.platform_identities),
        reads=frozenset({Parameter.PLATFORM_IDENTITIES}),
    )


def tenant_groups(tenant: Tenant) -> str:
    """The value of a tenant namespace's TENANT_GROUPS_ANNOTATION: every identity-provider group of the tenant."""
    return ",".join(sorted({*tenant.spec.access.developers, *tenant.spec.access.viewers}))


def _relabelings_stay(endpoint: str) -> str:
    """No relabeling of `endpoint` writes a scrape label (`__...`) or maps labels onto others (`labelmap`)."""
    return " && ".join(
        f"(!has({endpoint}.{name}) || {endpoint}.{name}.all(r, "
        f"(!has(r.targetLabel) || !r.targetLabel.startsWith({_literal(SCRAPE_LABEL_PREFIX)}) || "
        f"r.targetLabel == {_literal(METRIC_NAME_LABEL)}) && "
        f"(!has(r.action) || !(r.action in {_list(LABELMAP_ACTIONS)}))))"
        for name in RELABELING_LISTS
    )


def _monitors_scrape_own_pods() -> AdmissionRule:
    validations = []
    for kind, endpoints in MONITOR_ENDPOINTS.values():
        present = f"object.kind == {_literal(kind)} && {_has('object', endpoints.removeprefix('object.'))}"
        unset = " && ".join(f"!has(e.{name})" for name in MONITOR_REFUSED_FIELDS)
        validations += [
            Validation(
                f"!({present}) || {endpoints}.all(e, {_relabelings_stay('e')})",
                f"A {kind}'s relabelings and metricRelabelings may not write Prometheus' scrape labels (any label "
                "starting with __: __address__, __scheme__, __metrics_path__, __param_...) or use labelmap: they "
                "would send the shared scraper somewhere else than your own pods, to other tenants' data among "
                "others. Relabel into ordinary labels instead.",
            ),
            Validation(
                f"!({present}) || {endpoints}.all(e, {unset})",
                f"A {kind}'s endpoints may not set {', '.join(MONITOR_REFUSED_FIELDS)}: the shared scraper would "
                "reach through a proxy, or fetch a token from an address, of your choosing, with its own network "
                "reach. Scrape your pods directly; use bearerTokenSecret, authorization or basicAuth for "
                "credentials.",
            ),
        ]
    return AdmissionRule(
        name=f"{POLICY_PREFIX}monitors-scrape-own-pods",
        matches=(Resources((MONITORING_GROUP,), ("*",), tuple(MONITOR_ENDPOINTS)),),
        validations=tuple(validations),
    )


def monitor_problems(obj: dict[str, Any]) -> list[str]:
    """What the admission rules on monitors (`monitors-scrape-own-pods`, `monitors-read-no-files`) refuse in `obj`,
    in Python, for the plan guardrail on the monitors the platform declares; the tests hold it to the CEL's verdicts
    on every case of their table."""
    problems = []
    for resource, (kind, path) in MONITOR_ENDPOINTS.items():
        if obj.get("kind") != kind:
            continue
        endpoints: Any = obj
        for step in path.split(".")[1:]:
            endpoints = endpoints.get(step) if isinstance(endpoints, dict) else None
        file_fields = MONITOR_FILE_FIELDS.get(resource, ("", ()))[1]
        for index, endpoint in enumerate(endpoints or []):
            where = f"{path.removeprefix('object.')}[{index}]"
            for name in RELABELING_LISTS:
                for relabeling in endpoint.get(name) or []:
                    target = str(relabeling.get("targetLabel", ""))
                    if target.startswith(SCRAPE_LABEL_PREFIX) and target != METRIC_NAME_LABEL:
                        problems.append(f"{where}.{name} writes scrape label {relabeling['targetLabel']}")
                    if relabeling.get("action") in LABELMAP_ACTIONS:
                        problems.append(f"{where}.{name} uses labelmap")
            problems += [f"{where} sets {field}" for field in MONITOR_REFUSED_FIELDS if field in endpoint]
            for field in file_fields:
                first, _, second = field.partition(".")
                value = endpoint.get(first)
                if value is not None and (not second or (isinstance(value, dict) and second in value)):
                    problems.append(f"{where} names a file of the scraper ({field})")
    return problems


def _pod_spec_rule(
    name: str, check: Callable[[str], str], message: str, reads: frozenset[Parameter] = frozenset()
) -> AdmissionRule:
    """A rule on every pod spec a tenant can write (Pods and the pod templates of every workload): `check` of the
    pod spec's path, where the object has one."""
    validations = []
    matches = []
    for spec, (kinds, resources) in POD_SPECS.items():
        validations.append(
            Validation(
                f"!(object.kind in {_list(kinds)}) || !({_has('object', spec.removeprefix('object.'))}) || "
                f"({check(spec)})",
                message,
            )
        )
        matches += [Resources((group,), ("v1",), (resource,)) for group, resource in resources if "/" not in resource]
    return AdmissionRule(name=name, matches=tuple(matches), validations=tuple(validations), reads=reads)


def _priority_classes() -> AdmissionRule:
    names = [priority.name for priority in isolation.TENANT_PRIORITY_CLASSES]
    return _pod_spec_rule(
        f"{POLICY_PREFIX}priority-classes",
        lambda spec: f"!has({spec}.priorityClassName) || {spec}.priorityClassName in {_list(names)}",
        f"A pod may name only the priority classes the platform declares for tenants ({', '.join(names)}), or none: "
        "the others (system-node-critical, system-cluster-critical, the platform's) would let it preempt other "
        "tenants' and the platform's pods.",
        frozenset({Parameter.PRIORITY_CLASSES}),
    )


def _labelled_by_platform(obj: str) -> str:
    label = _literal(naming.MANAGED_BY_LABEL)
    return (
        f"({obj} != null && {_has(obj, 'metadata.labels')} && {label} in {obj}.metadata.labels && "
        f"{obj}.metadata.labels[{label}] == 'pulumi')"
    )


def _platform_objects() -> AdmissionRule:
    annotations = "namespaceObject.metadata.annotations"
    groups = f"{annotations}[{_literal(TENANT_GROUPS_ANNOTATION)}]"
    tenant_subject = (
        f"{USERNAME}.startsWith('system:serviceaccount:' + namespaceObject.metadata.name + ':') || "
        f"({_has('namespaceObject', 'metadata.annotations')} && {_literal(TENANT_GROUPS_ANNOTATION)} in "
        f"{annotations} && has(request.userInfo.groups) && "
        f"request.userInfo.groups.exists(g, (',' + {groups} + ',').contains(',' + g + ',')))"
    )
    return AdmissionRule(
        name=f"{POLICY_PREFIX}platform-objects",
        matches=(Resources(("*",), ("*",), ("*",), (*WRITES, "DELETE"), "Namespaced"),),
        validations=(
            Validation(
                "false",
                "This object is the platform's (app.kubernetes.io/managed-by: pulumi): its deployer account, "
                "PodMonitor, quota, limits, network policy and roles hold your namespace's fence, and only the "
                "platform changes them. Ask for a change in your tenant file instead.",
            ),
        ),
        conditions=(
            ("in-a-namespace", "namespaceObject != null"),
            ("platform-object", f"{_labelled_by_platform('object')} || {_labelled_by_platform('oldObject')}"),
            ("tenant-subject", tenant_subject),
        ),
        reads=frozenset({Parameter.TENANT_GROUPS}),
    )


def _disruption_budgets() -> AdmissionRule:
    budget = "object.spec.maxUnavailable"
    return AdmissionRule(
        name=f"{POLICY_PREFIX}disruption-budgets",
        matches=(Resources(("policy",), ("v1",), ("poddisruptionbudgets",)),),
        validations=(
            # What admission can check: maxUnavailable of at least one pod lets a drain evict one pod at a time
            # whatever the replica count; minAvailable blocks it whenever it equals the pods running, which only
            # the autoscaler knows. AlwaysAllow lets a drain evict pods that are not ready, which IfHealthyBudget
            # keeps while the budget is spent: one crash-looping pod would block the node.
            Validation(
                f"{_has('object', 'spec.maxUnavailable')} && !has(object.spec.minAvailable) && "
                f"(type({budget}) == int ? {budget} >= 1 : {budget}.matches('^0*[1-9][0-9]*%$')) && "
                f"{_has('object', 'spec.unhealthyPodEvictionPolicy')} && "
                "object.spec.unhealthyPodEvictionPolicy == 'AlwaysAllow'",
                "A PodDisruptionBudget must set maxUnavailable to at least 1 (or a percentage above 0%), no "
                "minAvailable, and unhealthyPodEvictionPolicy: AlwaysAllow, so that it never blocks a node drain: "
                "nodes are drained for upgrades of the cluster all tenants share.",
            ),
        ),
    )


def _route_hosts(settings: StackSettings) -> AdmissionRule:
    """HTTPRoutes as Ingress hosts are: every hostname under the tenant's own suffix, and attached only to the
    namespace's own ListenerSet (the platform's, whose listeners hold the tenant's hosts and certificates), never
    to the shared Gateway or another namespace's listeners."""
    suffix = f"'.' + {TENANT} + '.' + {ENVIRONMENT} + {_literal('.' + settings.ingress_host_suffix)}"
    own_listeners = (
        f"has(p.group) && p.group == {_literal(exposure.GROUP)} && has(p.kind) && p.kind == 'ListenerSet' && "
        f"p.name == {_literal(exposure.LISTENER_SET)} && (!has(p.namespace) || p.namespace == "
        "namespaceObject.metadata.name)"
    )
    return AdmissionRule(
        name=f"{POLICY_PREFIX}route-hosts",
        matches=(Resources((exposure.GROUP,), ("*",), ("httproutes",)),),
        validations=(
            Validation(
                f"{_has('object', 'spec.hostnames')} && object.spec.hostnames.size() > 0 && "
                f"object.spec.hostnames.all(h, h.endsWith({suffix}))",
                "An HTTPRoute needs hostnames, all under your own suffix (<name>.<tenant>.<environment>."
                f"{settings.ingress_host_suffix}): a route without hostnames, or with another host, would take "
                "requests meant for other tenants.",
                f"'HTTPRoute hostnames must be <name>' + {suffix} + ' (at least one): a route without hostnames, or "
                "with another host, would take requests meant for other tenants'",
            ),
            Validation(
                f"{_has('object', 'spec.parentRefs')} && object.spec.parentRefs.size() > 0 && "
                f"object.spec.parentRefs.all(p, {own_listeners})",
                f"An HTTPRoute may attach only to your namespace's ListenerSet {exposure.LISTENER_SET} (kind "
                "ListenerSet, no other namespace): the shared Gateway and other namespaces' listeners serve other "
                "tenants' hosts and certificates.",
            ),
        ),
        # cert-manager answers HTTP-01 challenges with a route of its own (the ClusterIssuer's solver, the platform's).
        exempt=(*settings.platform_identities, CERT_MANAGER_CONTROLLER),
        reads=frozenset(
            {Parameter.TENANT, Parameter.ENVIRONMENT, Parameter.HOST_SUFFIX, Parameter.PLATFORM_IDENTITIES}
        ),
    )


def _platform_only(
    name: str, groups: tuple[str, ...], resources: tuple[str, ...], message: str, exempt: tuple[str, ...]
) -> AdmissionRule:
    return AdmissionRule(
        name=f"{POLICY_PREFIX}{name}",
        matches=(Resources(groups, ("*",), resources),),
        validations=(Validation("false", message),),
        exempt=exempt,
        reads=frozenset({Parameter.PLATFORM_IDENTITIES}),
    )


def _platform_only_secrets(settings: StackSettings) -> AdmissionRule:
    return _platform_only(
        "platform-only-secrets",
        secrets.API_GROUPS,
        ("*",),
        "SecretStores, ExternalSecrets, PushSecrets and generators are the platform's: a store of your own could read "
        "with another identity than your namespace's, and only the platform's store reads your own path. Declare "
        "the secret in your tenant file (services[].secrets) instead.",
        tuple(settings.platform_identities),
    )


def _platform_only_certificates(settings: StackSettings) -> AdmissionRule:
    return _platform_only(
        "platform-only-certificates",
        exposure.CERT_MANAGER_GROUPS,
        ("*",),
        "Certificates, issuers and their requests are the platform's: the cluster's issuer would certify any name it "
        "is asked for, other tenants' hosts included. Expose the service in your tenant file (services[].expose).",
        (*settings.platform_identities, CERT_MANAGER_CONTROLLER),
    )


def _platform_only_gateway_kinds(settings: StackSettings) -> AdmissionRule:
    return _platform_only(
        "platform-only-gateway-kinds",
        (exposure.GROUP,),
        exposure.PLATFORM_ONLY_KINDS,
        "Gateways, ListenerSets, ReferenceGrants and route kinds other than HTTPRoute are the platform's: they claim "
        "hosts, certificates and addresses on the data plane all tenants share. Expose the service in your tenant "
        "file (services[].expose) and route with an HTTPRoute.",
        tuple(settings.platform_identities),
    )


def _secret_store_account() -> AdmissionRule:
    account = _literal(secrets.STORE_ACCOUNT)
    return _pod_spec_rule(
        f"{POLICY_PREFIX}secret-store-account",
        lambda spec: (
            f"(!has({spec}.serviceAccountName) || {spec}.serviceAccountName != {account}) && "
            f"(!has({spec}.serviceAccount) || {spec}.serviceAccount != {account})"
        ),
        f"A pod may not run as {secrets.STORE_ACCOUNT}: that account is your namespace's secret store's, whose role "
        "reads every secret of your tenant in this environment. Each service reads its own secrets as variables.",
    )


def admission_rules(settings: StackSettings) -> list[AdmissionRule]:
    """Every admission rule of the tenant namespaces of a stack's cluster."""
    return [
        _no_external_ips(),
        _no_external_name(),
        _ingress_hosts(settings),
        _image_registry(settings),
        _no_endpoints(),
        _monitors_read_no_files(),
        _monitors_scrape_own_pods(),
        _platform_only_monitoring(settings),
        _ingress_annotations(),
        _priority_classes(),
        _platform_objects(),
        _disruption_budgets(),
        _route_hosts(settings),
        _platform_only_secrets(settings),
        _platform_only_certificates(settings),
        _platform_only_gateway_kinds(settings),
        _secret_store_account(),
    ]
