"""The guardrails of `imaas.guardrails` as CrossGuard stack policies: one implementation, two entry points."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy, proxy

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The pack lives inside the project and evaluates the project's own rules, not a copy of them.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from imaas.guardrails import GUARDRAILS, Context, Guardrail, Resource, evaluate, stack_context  # noqa: E402
from imaas.inputs.stack_file import StackName, read_stack_file  # noqa: E402


@cache
def project_context(stack: str) -> Context:
    """The settings and tenants of `stack` (a shared or a tenant stack, with its cluster's settings), read from the
    project as the program reads them."""
    stack_file = read_stack_file(PROJECT_DIR, stack)
    return stack_context(stack_file, PROJECT_DIR / stack_file.settings.tenants_dir, StackName.parse(stack))


UNKNOWN_VALUES = frozenset(
    value for name, value in vars(proxy).items() if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
)


def plain(value: Any) -> Any:
    """A resource's properties as plain data, with values not known before the update as None.

    The engine's proxy raises on any unknown value it is asked for, which makes pulumi_policy skip the whole
    policy; read underneath it instead, so that a rule is blind only to the very value that is unknown."""
    if isinstance(value, Mapping):
        target = value if isinstance(value, dict) else value["__target"]
        return {key: plain(item) for key, item in target.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        # pulumi_policy's list proxy, a Sequence, also answers the key "__target", which Sequence's type does not say.
        target = value if isinstance(value, list) else value["__target"]  # type: ignore[call-overload]
        return [plain(item) for item in target]
    return None if isinstance(value, str) and value in UNKNOWN_VALUES else value


def _validator(
    guardrail: Guardrail, context_for: Callable[[str], Context]
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            # The engine does not tell policies about retain_on_delete; protect is what they can check.
            Resource(
                r.urn,
                r.resource_type,
                r.name,
                plain(r.props),
                bool(r.opts.protect),
                None,
                tuple(dependency.urn for dependency in r.dependencies),
            )
            for r in args.resources
        ]
        if not resources:
            return
        stack = resources[0].urn.split(":")[2]
        for violation in evaluate(resources, context_for(stack), [guardrail]):
            report_violation(violation.message, violation.urn)

    return validate


def guardrail_policies(context_for: Callable[[str], Context] = project_context) -> list[StackValidationPolicy]:
    return [
        StackValidationPolicy(
            name=guardrail.name,
            description=guardrail.description,
            enforcement_level=EnforcementLevel.MANDATORY if guardrail.mandatory else EnforcementLevel.ADVISORY,
            validate=_validator(guardrail, context_for),
        )
        for guardrail in GUARDRAILS
    ]
