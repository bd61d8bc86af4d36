"""Guardrails on delivery: the tenants' registries keep their images, and each CI role trusts only its tenant's own
repositories and branches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from imaas.declarations import delivery, iam, naming, promotion, types
from imaas.guardrails.framework import Context, Index, Resource
from imaas.model.tenant import Service, Tenant


def registry_safe(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for repository in index(types.ECR_REPOSITORY):
        inputs = repository.inputs
        if inputs.get("imageTagMutability") != "IMMUTABLE":
            yield repository, "image tags are mutable"
        if not (inputs.get("imageScanningConfiguration") or {}).get("scanOnPush"):
            yield repository, "images are not scanned on push"
        if inputs.get("forceDelete"):
            yield repository, "force_delete would delete its images with it"


def _document(value: Any) -> dict[str, Any]:
    """A policy document, given as JSON text or as data."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _allows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _listed(document.get("Statement")) if isinstance(s, dict) and s.get("Effect") == "Allow"]


def _ci_service(role: Resource, context: Context) -> tuple[Tenant, Service] | None:
    """The service whose CI role this is, by its name (which tags could only repeat): None for any other role."""
    return context.ci_roles.get(str(role.inputs.get("name")))


@cache
def _arn_of(kind: str, name: str) -> re.Pattern[str]:
    """An ARN of any partition, region and account: `ecr` repositories and `iam` roles."""
    if kind == "ecr":
        return re.compile(rf"arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{{12}}:repository/{re.escape(name)}")
    return re.compile(rf"arn:aws[a-z-]*:iam::[0-9]{{12}}:role/{re.escape(name)}")


def ci_trust_exact(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for role in index(types.IAM_ROLE):
        document = _document(role.inputs.get("assumeRolePolicy"))
        federated = [
            statement
            for statement in _allows(document)
            if delivery.GITHUB_OIDC_HOST in str((statement.get("Principal") or {}).get("Federated", ""))
        ]
        owner = _ci_service(role, context)
        if not federated and owner is None:
            continue
        for statement in _allows(document):
            if statement in federated and statement.get("Action") == "sts:AssumeRoleWithWebIdentity":
                yield from _trust_problems(role, statement, owner, context)
            else:
                principal = statement.get("Principal")
                yield role, f"trust has a statement for {principal!r} besides its tenant's GitHub workflows"


def ci_push_scoped(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """A CI role's own policy: registry log-in, and pushing to its service's registry, nothing else."""
    roles = {role.inputs.get("name"): _ci_service(role, context) for role in index(types.IAM_ROLE)}
    for policy in index(types.IAM_ROLE_POLICY):
        owner = roles.get(policy.inputs.get("role"))
        if owner is None:
            continue
        tenant, service = owner[0].name, owner[1].name
        registry = naming.ecr_repository(tenant, service)
        allowed = _arn_of("ecr", registry)
        for statement in _allows(_document(policy.inputs.get("policy"))):
            actions, resources = set(_listed(statement.get("Action"))), _listed(statement.get("Resource"))
            if actions == {"ecr:GetAuthorizationToken"}:
                continue
            if not actions <= set(delivery.PUSH_ACTIONS):
                yield policy, f"CI of {registry} may {sorted(actions - set(delivery.PUSH_ACTIONS))}"
            for resource in resources:
                if not allowed.fullmatch(str(resource)):
                    yield policy, f"CI of {registry} may act on {resource!r}, not only its own registry"


def ecr_access_scoped(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Who may use a tenant's registry: its own CI role pushes, the clusters' accounts pull, nobody else."""
    pullers = {
        principal if principal.startswith("arn:") else f"arn:aws:iam::{principal}:root"
        for principal in context.settings.ecr_pull_principals
    }
    for policy in index(types.ECR_REPOSITORY_POLICY):
        tenant, _, service = str(policy.inputs.get("repository", "")).partition("/")
        if tenant not in context.tenants:
            continue
        ci_role = _arn_of("iam", naming.ci_role(tenant, service))
        for statement in _allows(_document(policy.inputs.get("policy"))):
            principal = statement.get("Principal")
            arns = _listed(principal.get("AWS")) if isinstance(principal, dict) and set(principal) == {"AWS"} else None
            actions = set(_listed(statement.get("Action")))
            if arns is None or not arns:
                yield policy, f"grants {principal!r}, which is not its tenant's CI role nor a cluster account"
                continue
            for arn in map(str, arns):
                if ci_role.fullmatch(arn):
                    extra = actions - set(delivery.PUSH_ACTIONS)
                elif arn in pullers:
                    extra = actions - set(delivery.PULL_ACTIONS)
                else:
                    yield (
                        policy,
                        f"grants {arn!r}, which is not the CI role of {tenant}/{service} nor a cluster account",
                    )
                    continue
                if extra:
                    yield policy, f"grants {arn!r} {sorted(extra)} beyond what it needs"


SUBJECT = re.compile(r"repository_id:([0-9]+):ref:refs/heads/[a-z]+")


def _trust_problems(
    role: Resource, statement: dict[str, Any], owner: tuple[Tenant, Service] | None, context: Context
) -> Iterator[tuple[Resource, str]]:
    """A GitHub-trusting statement: exact audience, and only the subjects of the role's own service; a role that
    is no service's CI role may admit no subject at all."""
    conditions = statement.get("Condition") or {}
    if set(conditions) != {"StringEquals"}:
        yield role, f"trust conditions {sorted(conditions)} are not all StringEquals"
    equals = conditions.get("StringEquals") or {}
    if equals.get(f"{delivery.GITHUB_OIDC_HOST}:aud") != iam.STS_AUDIENCE:
        yield role, "trust does not require the sts.amazonaws.com audience"
    subjects = equals.get(f"{delivery.GITHUB_OIDC_HOST}:sub")
    subjects = [subjects] if isinstance(subjects, str) else subjects or []
    if not subjects:
        yield role, "trust does not limit the GitHub subject"
    # The repository's id is GitHub's to give (an output, in no plan's inputs): what the role may trust is one
    # repository, by id, on exactly its own service's branches.
    ids = {match.group(1) for match in map(SUBJECT.fullmatch, map(str, subjects)) if match}
    expected = set(delivery.ci_subjects(next(iter(ids)), *owner)) if owner and len(ids) == 1 else set()
    for subject in subjects:
        if subject not in expected:
            yield role, f"trust admits {subject!r}, which is not one repository's id on its own service's branches"


OWNERS_ONLY = "org_actors"


def rulesets_select_owner_only_properties(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """The branch rulesets find service repositories by custom properties whose values only organisation owners may
    edit, declared beside them: a tenant's maintainers (admins of its repositories) cannot take one out of the
    rules. A ruleset that selects by any other property, or by one not so declared, is refused."""
    properties = {p.inputs.get("propertyName"): p for p in index(types.GITHUB_ORGANIZATION_PROPERTY)}
    for prop in properties.values():
        if prop.inputs.get("valuesEditableBy") != OWNERS_ONLY:
            editors = prop.inputs.get("valuesEditableBy") or "the default"
            yield prop, f"its values are editable by {editors}, not by organisation owners only"
    for ruleset in index(types.GITHUB_RULESET):
        conditions = ruleset.inputs.get("conditions") or {}
        selected = (conditions.get("repositoryProperty") or {}).get("includes") or []
        if not selected:
            yield ruleset, "selects no repository by an owners-only custom property"
        for include in selected:
            name = include.get("name")
            # A declared property that others may edit is refused above, once.
            if name not in properties:
                yield ruleset, f"selects repositories by property {name!r}, which this stack does not declare"


def _ruleset_branches(ruleset: Resource) -> set[str]:
    includes = (((ruleset.inputs.get("conditions") or {}).get("refName") or {}).get("includes")) or []
    return {str(ref).removeprefix("refs/heads/") for ref in includes}


def promotion_gated(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Every required check of a ruleset names the App that may post it (tenant maintainers administer their
    repositories and could post any status from a workflow of their own), a ruleset of a promoted branch requires
    the service CI's check and the promotion gate's status, each from its App, and only an organisation owner may
    bypass it, through a pull request."""
    app = context.settings.promotion.github_app
    for ruleset in index(types.GITHUB_RULESET):
        rules = ruleset.inputs.get("rules") or {}
        checks = ((rules.get("requiredStatusChecks") or {}).get("requiredChecks")) or []
        for check in checks:
            if not check.get("integrationId"):
                yield ruleset, f"requires {check.get('context')!r} from any App: pin its integrationId"
        for branch in sorted(_ruleset_branches(ruleset) & set(promotion.GATED_BRANCHES)):
            pinned = {(check.get("context"), check.get("integrationId")) for check in checks}
            expected = promotion.required_checks(branch, app.app_id if app else 0)
            for wanted in expected:
                if (wanted["context"], wanted["integrationId"]) not in pinned:
                    yield ruleset, f"a merge into {branch} does not require {wanted['context']!r} from its App"
            if not rules.get("pullRequest"):
                yield ruleset, f"{branch} may be pushed to without a pull request"
        for actor in ruleset.inputs.get("bypassActors") or []:
            if (actor.get("actorType"), actor.get("bypassMode")) != ("OrganizationAdmin", "pull_request"):
                yield ruleset, f"{actor.get('actorType')} may bypass it ({actor.get('bypassMode')})"
