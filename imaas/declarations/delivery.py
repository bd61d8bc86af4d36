"""The documents of service delivery, as plain data: CI trust, registry access, image retention, the variable the
service's CI reads, and the organisation rulesets that protect every service repository's promoted branches.

Kept free of Pulumi so that the components, the policy pack and the tests share one definition.
"""

from __future__ import annotations

import json
from typing import Any

from imaas.declarations import iam, naming, promotion
from imaas.model.tenant import Service, Tenant

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"


def github_oidc_provider_arn(partition: str, account: str) -> str:
    """The ARN IAM gives the GitHub OIDC provider of an account: one per URL and account, named by its host."""
    return f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


# The organisation's custom properties the platform sets on every service repository it makes. The rulesets target
# repositories by them, never by a list of names, so that the shared stack does not depend on which tenants exist.
# Only organisation owners may edit their values (valuesEditableBy org_actors): a tenant's maintainers, admins of
# their repositories, cannot take a repository out of the rules.
SERVICE_PROPERTY = "imaas-service"
"""true_false: an IMaaS service repository; the branch rulesets apply where it is true."""
TENANT_PROPERTY = "imaas-tenant"
"""string: the tenant owning the repository, for people and tools (and for rules a tenant may get later)."""
PROPERTY_VALUES_EDITABLE_BY = "org_actors"
PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    # The promotion's "already tagged" check (aws ecr describe-images in the template's CI).
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


# How many fresh approvals a merge into each protected branch needs: a production release is a reviewed merge, test
# is promoted to by a pull request too, without a required review.
BRANCH_REVIEWS = {"prod": 1, "test": 0}
# The emergency path: an organisation owner may merge a pull request past the rules (never push past them), which
# GitHub records in the ruleset's insights (rule suites) and the organisation's audit log.
RULESET_BYPASS = [{"actorType": "OrganizationAdmin", "bypassMode": "pull_request"}]


def ruleset_name(branch: str) -> str:
    return f"imaas-{branch}-branches"


def branch_rules(branch: str, gate_app_id: int) -> dict[str, Any]:
    """The rules of the organisation ruleset of `branch`: a pull request with its reviews, no force push, no
    deletion, and the service CI's check and the promotion gate's status on the exact commit merged, each from the
    one App that may post it (imaas/declarations/promotion.py)."""
    reviews = BRANCH_REVIEWS[branch]
    return {
        "deletion": True,
        "nonFastForward": True,
        "pullRequest": {
            "allowedMergeMethods": ["merge"],
            "dismissStaleReviewsOnPush": reviews > 0,
            "requireLastPushApproval": reviews > 0,
            "requiredApprovingReviewCount": reviews,
        },
        "requiredStatusChecks": {
            "requiredChecks": promotion.required_checks(branch, gate_app_id),
            # The platform cuts each branch from the one below when it creates the repository.
            "doNotEnforceOnCreate": True,
            # The branch below never holds the merge commits of the one above: it cannot be "up to date".
            "strictRequiredStatusChecksPolicy": False,
        },
    }


def ruleset_conditions(branch: str) -> dict[str, Any]:
    """Every repository whose imaas-service property is true, whatever its name: a renamed repository keeps its rules
    (renames are no longer refused; the tenant stack's next deploy renames it back and the nightly drift check
    reports it), and no tenant's onboarding changes the rule."""
    return {
        "refName": {"excludes": [], "includes": [f"refs/heads/{naming.branch(branch)}"]},
        "repositoryProperty": {
            "excludes": [],
            "includes": [{"name": SERVICE_PROPERTY, "propertyValues": ["true"], "source": "custom"}],
        },
    }


# The claims of the OIDC `sub` each service repository's tokens carry (its subject claim template): the
# repository's id, which a rename or a new repository of the same name never gets, and the branch.
CI_SUBJECT_CLAIMS = ("repository_id", "ref")


def ci_subjects(repository_id: int | str, tenant: Tenant, service: Service) -> list[str]:
    """The GitHub OIDC `sub` claims of one service's CI: its repository, by id, on each of its branches; none for a
    service that is not active.

    Exact values, compared with StringEquals: a pattern would admit other repositories.
    """
    if service not in tenant.active_services():
        return []
    return [
        f"repository_id:{repository_id}:ref:refs/heads/{branch}"
        for branch in naming.service_branches(tenant.service_environments(service))
    ]


def ci_trust_policy(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    return iam.federated_trust(
        "GitHubActionsOfTheTenantsRepositories",
        provider_arn,
        "sts:AssumeRoleWithWebIdentity",
        {f"{GITHUB_OIDC_HOST}:aud": iam.STS_AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": subjects},
    )


def ci_push_policy(repository_arns: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            # Registry log-in is account-wide by AWS's design; what it allows is limited by the statement below.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "PushToOwnRepositories", "Effect": "Allow", "Action": PUSH_ACTIONS, "Resource": repository_arns},
        ],
    }


def repository_policy(push_role_arn: str | None, pull_principals: list[str]) -> dict[str, Any] | None:
    """Who may use one ECR repository: the tenant's CI role pushes, the clusters' accounts pull."""
    statements = []
    if push_role_arn:
        statements.append(
            {"Sid": "TenantCiPush", "Effect": "Allow", "Principal": {"AWS": push_role_arn}, "Action": PUSH_ACTIONS}
        )
    if pull_principals:
        principals = [p if p.startswith("arn:") else f"arn:aws:iam::{p}:root" for p in pull_principals]
        statements.append(
            {"Sid": "ClusterPull", "Effect": "Allow", "Principal": {"AWS": principals}, "Action": PULL_ACTIONS}
        )
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


CI_VARIABLE = "IMAAS_SERVICE"
"""The repository variable the service's CI reads (ci_variable)."""


def ci_variable(
    tenant: Tenant, service: Service, region: str, registry_url: str, role_arn: str, guide: dict[str, Any]
) -> str:
    """Where the service's CI pushes (`registry_url`: `<account>.dkr.ecr.<region>.amazonaws.com/<tenant>/<service>`),
    the role it pushes as, and the day-two guide its team reads (imaas.declarations.guide): in this one variable, so
    that a service costs no more GitHub resources, each an API call at every up."""
    return json.dumps(
        {
            "region": region,
            "registry": registry_url.split("/", 1)[0],
            "repository": naming.ecr_repository(tenant.name, service.name),
            "role": role_arn,
            "guide": guide,
        },
        sort_keys=True,
    )


# The environments whose images the service's CI tags `<env>-<commit>` when it promotes them (a merge into the
# branch): the newest of each prefix is what that environment runs.
PROMOTED_ENVIRONMENTS = ("prod", "test")


# What each service's ECR repository keeps: tagged images per repository, images per environment they were promoted
# to, and days before an untagged image expires.
KEEP_IMAGES = 100
KEEP_PROMOTED_IMAGES = 50
UNTAGGED_IMAGE_DAYS = 14


def lifecycle_policy() -> dict[str, Any]:
    """Untagged layers go after some days; images promoted to test or prod keep the newest KEEP_PROMOTED_IMAGES of
    each environment; of all the others, the newest KEEP_IMAGES stay.

    ECR evaluates rules by priority, an image that matches the tags of a rule is never expired by a rule of lower
    priority, and the `any` rule must come last: so the image an environment runs, the newest of its prefix, stays
    however many images dev pushes after it.
    """
    untagged = {
        "rulePriority": 1,
        "description": f"expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": UNTAGGED_IMAGE_DAYS,
        },
        "action": {"type": "expire"},
    }
    promoted = [
        {
            "rulePriority": priority,
            "description": f"keep the last {KEEP_PROMOTED_IMAGES} images promoted to {environment}",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": [f"{environment}-"],
                "countType": "imageCountMoreThan",
                "countNumber": KEEP_PROMOTED_IMAGES,
            },
            "action": {"type": "expire"},
        }
        for priority, environment in enumerate(PROMOTED_ENVIRONMENTS, start=2)
    ]
    others = {
        "rulePriority": 2 + len(PROMOTED_ENVIRONMENTS),
        "description": f"keep the last {KEEP_IMAGES} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"},
    }
    return {"rules": [untagged, *promoted, others]}
