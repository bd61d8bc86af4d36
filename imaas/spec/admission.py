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
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imaas.model.settings import StackSettings
from imaas.spec import isolation, naming

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
# ingress-nginx annotations that add server names, or configuration text, to the shared controller, or that hand
# it another namespace's secrets: each could claim or reach what is another tenant's. Every `*-snippet` is refused.
INGRESS_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
INGRESS_SNIPPET_SUFFIX = "-snippet"
INGRESS_REFUSED_ANNOTATIONS = ("server-alias", "auth-url", "auth-tls-secret", "proxy-ssl-secret")
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
# they are told, a ScrapeConfig reads any namespace and files (fileSDConfigs), and an AlertmanagerConfig configures
# the shared Alertmanager. The platform's own (alert routes) come from its identity alone.
PLATFORM_ONLY_MONITORING = ("prometheuses", "prometheusagents", "alertmanagers", "thanosrulers", "scrapeconfigs",
                            "alertmanagerconfigs")  # fmt: skip


class Parameter(StrEnum):
    """What a rule reads besides the object: from the namespace's labels, or from the stack's settings."""

    TENANT = "tenant"
    ENVIRONMENT = "environment"
    HOST_SUFFIX = "ingressHostSuffix"
    REGISTRY = "ecrRegistry"
    IMAGE_ALLOW_LIST = "imageAllowList"
    PLATFORM_IDENTITIES = "platformIdentities"


@dataclass(frozen=True)
class Resources:
    """One resource rule of a policy's match constraints."""

    api_groups: tuple[str, ...]
    api_versions: tuple[str, ...]
    resources: tuple[str, ...]
    operations: tuple[str, ...] = WRITES

    def as_rule(self) -> dict[str, Any]:
        return {
            "apiGroups": list(self.api_groups),
            "apiVersions": list(self.api_versions),
            "resources": list(self.resources),
            "operations": list(self.operations),
        }


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

    def match_conditions(self) -> list[dict[str, str]]:
        if not self.exempt:
            return []
        return [{"name": "not-exempt", "expression": f"!({USERNAME} in {_list(self.exempt)})"}]

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
    annotation = (
        f"k.startsWith({_literal(INGRESS_ANNOTATION_PREFIX)}) && (k.endsWith({_literal(INGRESS_SNIPPET_SUFFIX)}) || "
        f"k in {_list([INGRESS_ANNOTATION_PREFIX + name for name in INGRESS_REFUSED_ANNOTATIONS])})"
    )
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
            Validation(
                f"!({_has('object', 'spec.tls')}) || "
                f"object.spec.tls.all(t, !has(t.hosts) || t.hosts.all(h, h.endsWith({suffix})))",
                f"TLS hosts of an Ingress must be under your own suffix (<name>.<tenant>.<environment>."
                f"{settings.ingress_host_suffix}).",
                f"{hosts_message} + ', TLS hosts included'",
            ),
            Validation(
                f"!({_has('object', 'spec.defaultBackend')})",
                "An Ingress may not set spec.defaultBackend: on the shared ingress controller it would answer for "
                "every host that no other Ingress claims. Name your hosts in rules instead.",
            ),
            Validation(
                f"!has(object.metadata.annotations) || !object.metadata.annotations.exists(k, {annotation})",
                "An Ingress may not carry ingress-nginx snippet annotations (*-snippet) or server-alias, auth-url, "
                "auth-tls-secret or proxy-ssl-secret: they add hosts or configuration to the controller all tenants "
                "share, or lend it another namespace's secrets.",
            ),
        ),
        reads=frozenset({Parameter.TENANT, Parameter.ENVIRONMENT, Parameter.HOST_SUFFIX}),
    )


def _image_registry(settings: StackSettings) -> AdmissionRule:
    own = f"{_literal(settings.ecr_registry + '/')} + {TENANT} + '/'"
    allowed = f"c.image.startsWith({own})"
    if settings.image_allow_list:
        allowed += f" || c.image in {_list(settings.image_allow_list)}"

    def every_container(spec: str) -> str:
        # The pod spec, and each list of containers, are optional in the schema: what is absent runs nothing. A
        # container without an image is refused.
        checks = [f"(!has({spec}.{name}) || {spec}.{name}.all(c, has(c.image) && ({allowed})))" for name in
                  CONTAINER_LISTS]  # fmt: skip
        return f"!({_has('object', spec.removeprefix('object.'))}) || ({' && '.join(checks)})"

    validations = []
    matches = []
    for spec, (kinds, resources) in POD_SPECS.items():
        validations.append(
            Validation(
                f"!(object.kind in {_list(kinds)}) || ({every_container(spec)})",
                "Containers, init containers and ephemeral containers may run only images of your own ECR "
                f"repositories ({settings.ecr_registry}/<tenant>/...) or the platform's allowed images: the nodes "
                "can pull every tenant's images, so nothing else keeps another tenant's code out of your namespace.",
                "'Containers, init containers and ephemeral containers may run only images from ' + "
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
                "Prometheus, PrometheusAgent, Alertmanager, ThanosRuler, ScrapeConfig and AlertmanagerConfig objects "
                "are the platform's: they run or configure what all tenants share. Have your metrics scraped with a "
                "PodMonitor or ServiceMonitor of your namespace.",
            ),
        ),
        exempt=tuple(settings.platform_identities),
        reads=frozenset({Parameter.PLATFORM_IDENTITIES}),
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
        _platform_only_monitoring(settings),
    ]
