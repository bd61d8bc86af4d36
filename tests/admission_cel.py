"""The admission policies' CEL, evaluated as the API server does, with cel-expr-python: Google's cel-cpp, which has
cel-go's semantics (the API server's engine). Selecting a field an object lacks is an error, not false, and a
ValidatingAdmissionPolicy with `failurePolicy: Fail` refuses the request when a match condition or a validation
fails to evaluate. The environment holds CEL's standard library and nothing else (none of Kubernetes' extension
libraries), so an expression that leaves standard CEL does not compile here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cel_expr_python import cel

from imaas.declarations.admission import AdmissionRule

DEPLOYER = "system:serviceaccount:orders-dev:argocd-deployer"
"""Who writes what a tenant deploys: Argo CD, impersonating the namespace's deployer account."""
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {
        "name": "orders-dev",
        "labels": {"imaas.io/tenant": "orders", "imaas.io/environment": "dev"},
        "annotations": {"imaas.io/tenant-groups": "orders-devs,orders-auditors"},
    },
}
GROUPS = ("system:serviceaccounts", "system:authenticated")
# The variables the API server declares for a validating admission policy (`params` and `authorizer` are left out:
# no policy has a parameter object, and `authorizer` is a Kubernetes library).
VARIABLES = ("object", "oldObject", "namespaceObject", "request", "variables")


class CelError(Exception):
    """An evaluation error: the API server counts it against the policy's failurePolicy (Fail: refused)."""


@cache
def _environment() -> cel.Env:
    return cel.NewEnv(variables={name: cel.Type.DYN for name in VARIABLES})


@cache
def compile_expression(expression: str) -> cel.Expression:
    """The checked expression; raises RuntimeError for a syntax error or a function outside standard CEL."""
    return _environment().compile(expression)


def evaluate(expression: str, bindings: dict[str, Any]) -> Any:
    """`expression`'s value as plain Python; raises CelError where cel-go would return an evaluation error (a
    missing key, no matching overload, ...)."""
    value = compile_expression(expression).eval(data=bindings)
    if value.type() == cel.Type.ERROR:
        raise CelError(f"{expression}: {value.value()}")
    return value.plain_value()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    messages: list[str]
    errors: list[str] = field(default_factory=list)
    """Evaluation errors; each refuses the request (failurePolicy Fail), so an ordinary object must have none."""


def bindings(
    obj: dict[str, Any] | None,
    user: str,
    operation: str,
    old: dict[str, Any] | None,
    groups: tuple[str, ...] = GROUPS,
) -> dict[str, Any]:
    """The variables the API server binds for a validating admission policy of a namespaced object."""
    return {
        "object": obj,
        "oldObject": old,
        "namespaceObject": NAMESPACE,
        "request": {
            "operation": operation,
            "namespace": NAMESPACE["metadata"]["name"],
            "userInfo": {"username": user, "groups": list(groups)},
        },
        "variables": {},
    }


def admit(
    rule: AdmissionRule,
    obj: dict[str, Any] | None,
    *,
    user: str = DEPLOYER,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    groups: tuple[str, ...] = GROUPS,
) -> Verdict:
    """What the policy of `rule` answers, as the API server evaluates a ValidatingAdmissionPolicy: match conditions
    first (one false: the policy does not apply; an error: refused under failurePolicy Fail), then the variables
    (lazily in the API server; here each one, in order, since an unused one that fails is still a defect), then
    every validation (false or an error: refused). A message expression that fails leaves the static message.
    Errors are reported in `errors` wherever they arise, so that a test can require none."""
    variables = bindings(obj, user, operation, old, groups)
    spec = rule.policy_spec()
    errors: list[str] = []
    applies = True
    for condition in spec.get("matchConditions", []):
        try:
            if not evaluate(condition["expression"], variables):
                applies = False
        except CelError as error:
            errors.append(str(error))
    # One false condition skips the policy, errors or not; an error without a false one refuses.
    if not applies:
        return Verdict(True, [])
    if errors:
        return Verdict(False, [f"match condition failed: {error}" for error in errors], errors)
    computed: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        try:
            computed[variable["name"]] = evaluate(variable["expression"], {**variables, "variables": computed})
        except CelError as error:
            errors.append(str(error))
    variables["variables"] = computed
    messages = []
    for validation in spec["validations"]:
        try:
            holds = evaluate(validation["expression"], variables)
        except CelError as error:
            errors.append(str(error))
            holds = False
        if not holds:
            text = validation["message"]
            if "messageExpression" in validation:
                try:
                    text = str(evaluate(validation["messageExpression"], variables))
                except CelError as error:
                    errors.append(str(error))
            messages.append(text)
    return Verdict(not messages and not errors, messages, errors)
