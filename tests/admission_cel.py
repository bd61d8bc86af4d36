"""The admission policies' CEL, evaluated as the API server does, with cel-python (which has CEL's common subset and
none of Kubernetes' extension libraries, the subset the policies keep to)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
from celpy import json_to_cel

from imaas.spec.admission import AdmissionRule

DEPLOYER = "system:serviceaccount:orders-dev:argocd-deployer"
"""Who writes what a tenant deploys: Argo CD, impersonating the namespace's deployer account."""
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "orders-dev", "labels": {"imaas.io/tenant": "orders", "imaas.io/environment": "dev"}},
}


@cache
def _program(expression: str) -> celpy.Runner:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def evaluate(expression: str, bindings: dict[str, Any]) -> Any:
    """`expression`'s value; raises celpy.CELEvalError where the API server would count an evaluation error."""
    return _program(expression).evaluate({name: json_to_cel(value) for name, value in bindings.items()})


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    messages: list[str]


def bindings(obj: dict[str, Any], user: str, operation: str, old: dict[str, Any] | None) -> dict[str, Any]:
    """The variables the API server binds for a validating admission policy of a namespaced object."""
    return {
        "object": obj,
        "oldObject": old,
        "namespaceObject": NAMESPACE,
        "request": {
            "operation": operation,
            "namespace": NAMESPACE["metadata"]["name"],
            "userInfo": {"username": user, "groups": ["system:serviceaccounts", "system:authenticated"]},
        },
    }


def admit(
    rule: AdmissionRule,
    obj: dict[str, Any],
    *,
    user: str = DEPLOYER,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
) -> Verdict:
    """What the policy of `rule` answers: allowed when a match condition is false (the policy does not apply) or
    every validation holds; refused, with each failed validation's message, otherwise."""
    variables = bindings(obj, user, operation, old)
    if not all(evaluate(condition["expression"], variables) for condition in rule.match_conditions()):
        return Verdict(True, [])
    messages = []
    for validation in rule.validations:
        if not evaluate(validation.expression, variables):
            text = validation.message
            if validation.message_expression:
                text = str(evaluate(validation.message_expression, variables))
            messages.append(text)
    return Verdict(not messages, messages)
