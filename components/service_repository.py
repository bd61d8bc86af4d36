"""A service's GitHub repository, created from the platform's template: branches for its environments with dev
as default, the tenant team's access, and the CI settings its workflow reads. Archived, never deleted."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_github as github

from components.safety import kept
from imaas.declarations import delivery, naming
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class RepositoryArgs:
    tenant: Tenant
    service: Service
    github_owner: str
    template_repository: str
    team_id: pulumi.Input[str]
    template_content: list[pulumi.Resource]
    """What the repository must wait for before GitHub generates it from the template."""
    branch_provider: pulumi.ProviderResource
    """The GitHub provider that waits out GitHub's filling of a new repository."""


def declare_repository(args: RepositoryArgs, opts: pulumi.ResourceOptions) -> github.Repository:
    tenant, service = args.tenant, args.service
    name = naming.github_repository(tenant.name, service.name)
    active = service in tenant.active_services()
    repository = github.Repository(
        name,
        name=name,
        description=service.description or f"{tenant.name} integration service {service.name}",
        visibility=service.visibility,
        template=github.RepositoryTemplateArgs(owner=args.github_owner, repository=args.template_repository),
        archived=not active,
        archive_on_destroy=True,
        has_issues=True,
        has_wiki=False,
        has_projects=False,
        allow_merge_commit=True,
        allow_squash_merge=True,
        allow_rebase_merge=False,
        delete_branch_on_merge=True,
        vulnerability_alerts=True,
        topics=["imaas", f"imaas-{tenant.name}"],
        # A repository holds a team's work: removing it from a file leaves it on GitHub.
        opts=kept(pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=args.template_content))),
    )
    # Retiring the service (or dropping an environment) stops declaring what follows. An archived repository is
    # read-only and its branches hold the team's work, so Pulumi must forget them, never delete them.
    inside = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[repository], retain_on_delete=True))
    if not active:
        return repository
    # The template's default branch is dev, so the new repository starts with it; the others branch from it, once
    # GitHub has filled the repository. Declaring dev as the default also repairs a repository generated while the
    # template's default branch was still another one.
    filling = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(provider=args.branch_provider))
    dev = github.BranchDefault(
        f"{name}-default-branch",
        repository=repository.name,
        branch=naming.branch("dev"),
        rename=True,
        wait_for_rename=True,
        opts=filling,
    )
    # Each environment's branch is cut from the one below it (prod from test), so that a new environment starts
    # from what was promoted there, never from dev's head (`validate --base` refuses the other ways round).
    source: pulumi.Resource = dev
    branches = naming.service_branches(tenant.service_environments(service))
    for lower, branch in itertools.pairwise(branches):
        source = github.Branch(
            f"{name}-{branch}",
            repository=repository.name,
            branch=branch,
            source_branch=lower,
            opts=pulumi.ResourceOptions.merge(filling, pulumi.ResourceOptions(depends_on=[source])),
        )
    github.RepositoryCollaborators(
        f"{name}-access",
        repository=repository.name,
        teams=[github.RepositoryCollaboratorsTeamArgs(team_id=args.team_id, permission="push")],
        users=[
            github.RepositoryCollaboratorsUserArgs(username=login, permission="admin")
            for login in tenant.spec.team.maintainers
        ],
        opts=inside,
    )
    # What the organisation's rulesets find the repository by (components/delivery_foundation.py), values only
    # organisation owners may change: the tenant's maintainers cannot move their repository out of the rules.
    for property_name, property_type, value in (
        (delivery.SERVICE_PROPERTY, "true_false", "true"),
        (delivery.TENANT_PROPERTY, "string", tenant.name),
    ):
        github.RepositoryCustomProperty(
            f"{name}-{property_name}",
            repository=repository.name,
            property_name=property_name,
            property_type=property_type,
            property_values=[value],
            opts=inside,
        )
    # The CI's OIDC subject names the repository by its id, which no rename or re-creation under the same name can
    # take over: `repository_id:<id>:ref:refs/heads/<branch>`, which the service's CI role trusts.
    github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
        f"{name}-oidc-subject",
        repository=repository.name,
        use_default=False,
        include_claim_keys=list(delivery.CI_SUBJECT_CLAIMS),
        opts=inside,
    )
    return repository


@dataclass(frozen=True)
class CiVariableArgs:
    tenant: Tenant
    service: Service
    guide: dict[str, Any]
    """The day-two guide (imaas.declarations.guide)."""
    region: str
    registry_url: pulumi.Input[str]
    """`<account>.dkr.ecr.<region>.amazonaws.com/<tenant>/<service>`."""
    ci_role_arn: pulumi.Input[str]


def declare_ci_variable(
    repository: github.Repository, args: CiVariableArgs, opts: pulumi.ResourceOptions
) -> github.ActionsVariable:
    """The `IMAAS_SERVICE` variable the service's CI reads: where to push, the role to push as, and the day-two guide
    its team reads (what the template's guide job renders)."""
    tenant, service = args.tenant, args.service
    return github.ActionsVariable(
        f"{naming.github_repository(tenant.name, service.name)}-ci",
        repository=repository.name,
        variable_name=delivery.CI_VARIABLE,
        value=pulumi.Output.all(args.registry_url, args.ci_role_arn).apply(
            lambda values: delivery.ci_variable(tenant, service, args.region, values[0], values[1], args.guide)
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[repository], retain_on_delete=True)),
    )
