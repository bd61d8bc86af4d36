"""The guardrails of `imaas.guardrails` as CrossGuard stack policies: one implementation, two entry points."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The pack lives inside the project and evaluates the project's own rules, not a copy of them.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from imaas.guardrails import GUARDRAILS, Context, Guardrail, Resource, evaluate  # noqa: E402
from imaas.loader import load_tenants  # noqa: E402
from imaas.stack_file import read_stack_file  # noqa: E402


@cache
def stack_context(stack: str) -> Context:
    """The settings and tenants of `stack`, read from the project as the program reads them."""
    stack_file = read_stack_file(PROJECT_DIR, stack)
    tenants = load_tenants(PROJECT_DIR / stack_file.settings.tenants_dir, stack_file.settings)
    return Context(
        settings=stack_file.settings,
        tenants={tenant.name: tenant for tenant in tenants},
        github_owner=stack_file.config.get("github:owner", ""),
    )


def _validator(
    guardrail: Guardrail, context_for: Callable[[str], Context]
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            # The engine does not tell policies about retain_on_delete; protect is what they can check.
            Resource(r.urn, r.resource_type, r.name, dict(r.props), bool(r.opts.protect), None)
            for r in args.resources
        ]
        if not resources:
            return
        stack = resources[0].urn.split(":")[2]
        for violation in evaluate(resources, context_for(stack), [guardrail]):
            report_violation(violation.message, violation.urn)

    return validate


def guardrail_policies(context_for: Callable[[str], Context] = stack_context) -> list[StackValidationPolicy]:
    return [
        StackValidationPolicy(
            name=guardrail.name,
            description=guardrail.description,
            enforcement_level=EnforcementLevel.MANDATORY if guardrail.mandatory else EnforcementLevel.ADVISORY,
            validate=_validator(guardrail, context_for),
        )
        for guardrail in GUARDRAILS
    ]
