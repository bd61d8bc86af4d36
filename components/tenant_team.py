"""The tenant's GitHub team: its maintainers as team maintainers, its members as members."""

from __future__ import annotations

import pulumi
import pulumi_github as github

from imaas.declarations import naming
from imaas.model.tenant import Tenant


def declare_team(tenant: Tenant, opts: pulumi.ResourceOptions) -> github.Team:
    name = naming.github_team(tenant.name)
    team = github.Team(
        name,
        name=name,
        description=f"IMaaS tenant {tenant.metadata.display_name or tenant.name} ({tenant.metadata.contact})",
        privacy="closed",
        create_default_maintainer=False,
        opts=opts,
    )
    members = [(login, "maintainer") for login in tenant.spec.team.maintainers]
    members += [(login, "member") for login in tenant.spec.team.members]
    # One authoritative membership list per team: one GitHub resource however many people the team has.
    github.TeamMembers(
        f"{name}-members",
        team_id=team.id,
        members=[github.TeamMembersMemberArgs(username=login, role=role) for login, role in members],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[team])),
    )
    return team
