"""The GitHub write budget of a first deployment, counted from the plan: `python bench/github_budget.py [--tenants DIR]
[--stack dev] [--generate N]`.

It plans the stack owning the global resources offline (the real program under the mock engine), takes every
`github:` resource of the plan and counts the write requests (POST, PUT, PATCH) the GitHub provider makes to create
it, per service, per tenant and for what all tenants share, and what that means against GitHub's secondary rate
limits for content-creating requests (80 a minute, 500 an hour, per App installation or user). Reads (the
provider reads back every resource it writes) are not counted: they fall under the primary limit (5,000 an hour for
a token, more for an App installation on a large organisation) and not under the content-creation limits.

Writes per resource type, read from the pinned provider (pulumi-github 6.15.0 bridges terraform-provider-github at
commit 20728bb30c112287ac3e8243cdb0307a45c6a0a0, `github/resource_github_*.go`, the Create function and the Update
it calls on a new resource):
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Run as a script, its own folder comes first on the path, where `bench` would be bench.py rather than the folder.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(PROJECT_DIR))

from bench.bench import generate  # noqa: E402
from imaas.engine.run import run_program  # noqa: E402
from imaas.inputs.stack_file import read_stack_file  # noqa: E402
from imaas.plan.ownership import tenant_of  # noqa: E402
from imaas.plan.record import Plan, PlannedResource  # noqa: E402

# GitHub's secondary rate limits on content-creating requests (docs.github.com, REST API, "Rate limits for the REST
# API", secondary rate limits), per App installation or user.
PER_MINUTE = 80
PER_HOUR = 500


def _repository_writes(inputs: dict[str, Any]) -> int:
    # CreateFromTemplate (or Create), ReplaceAllTopics, then Update on the new resource: Edit, ReplaceAllTopics
    # again (HasChange("topics") holds on a new resource) and the vulnerability alerts' PUT (IsNewResource).
    topics = 2 if inputs.get("topics") else 0
    alerts = 1 if "vulnerabilityAlerts" in inputs else 0
    return 2 + topics + alerts


def _collaborator_writes(inputs: dict[str, Any]) -> int:
    # AddTeamRepoBySlug per team, AddCollaborator (an invitation) per user.
    return len(inputs.get("teams") or []) + len(inputs.get("users") or [])


def _team_member_writes(inputs: dict[str, Any]) -> int:
    # AddTeamMembershipBySlug per member.
    return len(inputs.get("members") or [])


WRITES: dict[str, Any] = {
    "github:index/repository:Repository": _repository_writes,
    "github:index/branchDefault:BranchDefault": 1,  # RenameBranch (rename: true), or Edit of default_branch
    "github:index/branch:Branch": 1,  # Git.CreateRef
    "github:index/repositoryCollaborators:RepositoryCollaborators": _collaborator_writes,
    "github:index/team:Team": 1,  # Teams.CreateTeam
    "github:index/teamMembers:TeamMembers": _team_member_writes,
    "github:index/actionsVariable:ActionsVariable": 1,  # Actions.CreateRepoVariable
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate": 1,  # Actions.SetRepoOIDCSubjectClaimCustomTemplate
    "github:index/organizationRuleset:OrganizationRuleset": 1,  # Organizations.CreateRepositoryRuleset (or update)
    "github:index/repositoryFile:RepositoryFile": 1,  # Repositories.CreateFile
    "github:index/repositoryDeployKey:RepositoryDeployKey": 1,  # Repositories.CreateKey (one per cluster reading it)
    # Repositories.CreateOrUpdateCustomProperties, one value per resource (read at the provider's later commit
    # 0932720f, the source tests/data/providers/github.json cites for this type).
    "github:index/repositoryCustomProperty:RepositoryCustomProperty": 1,
    # Organizations.CreateOrUpdateCustomProperty: the property's definition, once for the organisation.
    "github:index/organizationCustomProperties:OrganizationCustomProperties": 1,
}
__doc__ = (__doc__ or "") + "".join(
    f"\n- {token.split(':')[-1]}: {value if isinstance(value, int) else value.__name__.strip('_')}"
    for token, value in WRITES.items()
)


def writes_of(resource: PlannedResource) -> int:
    rule = WRITES.get(resource.type)
    if rule is None:
        raise SystemExit(f"{resource.type}: no write count known; read its Create in the provider and add it")
    return rule if isinstance(rule, int) else rule(resource.inputs)


def budget(plan: Plan) -> dict[str, Any]:
    by_urn = {resource.urn: resource for resource in plan.resources}
    github = [r for r in plan.resources if r.type.startswith("github:")]
    services: dict[str, int] = defaultdict(int)
    tenants: dict[str, int] = defaultdict(int)
    shared = 0
    types: Counter[str] = Counter()
    for resource in github:
        writes = writes_of(resource)
        types[resource.type.split(":")[-1]] += writes
        tenant = tenant_of(resource, by_urn)
        repository = resource.inputs.get("repository") or (
            resource.inputs.get("name") if resource.type.endswith(":Repository") else None
        )
        if tenant is not None and repository and str(repository).startswith(f"{tenant}-"):
            services[str(repository)] += writes
        elif tenant is not None:
            tenants[tenant] += writes
        else:
            shared += writes
    total = shared + sum(services.values()) + sum(tenants.values())
    service_counts = sorted(services.values())
    return {
        "tenants": len({t for t in tenants} | {s.split("-")[0] for s in services}),
        "services": len(services),
        "writes": total,
        "per_service": {
            "min": service_counts[0] if service_counts else 0,
            "max": service_counts[-1] if service_counts else 0,
            "mean": round(sum(service_counts) / len(service_counts), 2) if service_counts else 0,
        },
        "per_tenant_own": round(sum(tenants.values()) / len(tenants), 2) if tenants else 0,
        "by_service": dict(sorted(services.items())),
        "by_tenant_own": dict(sorted(tenants.items())),
        "shared": shared,
        "by_type": dict(types.most_common()),
        "minutes_at_80_a_minute": round(total / PER_MINUTE, 1),
        "hours_at_500_an_hour": round(total / PER_HOUR, 2),
        "services_per_hour": int(PER_HOUR // (sum(service_counts) / len(service_counts))) if service_counts else 0,
    }


def plan_of(stack: str, tenants: Path) -> Plan:
    stack_file = read_stack_file(PROJECT_DIR, stack)
    config = {**stack_file.config, "imaas:tenantsDir": str(tenants), "imaas:iamRoleQuota": "5000"}
    # The cluster's shared stack and every tenant stack of it together: the writes of a first deployment of all.
    return run_program(PROJECT_DIR, stack, config, stack_file.secret_keys, whole_cluster="." not in stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="the stack owning the global resources")
    parser.add_argument("--tenants", type=Path, default=PROJECT_DIR / "tests" / "fixtures" / "tenants")
    parser.add_argument("--generate", type=int, help="plan N generated tenants (bench.py's) instead")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tenants = arguments.tenants
        if arguments.generate:
            tenants = Path(scratch)
            generate(tenants, arguments.generate)
        found = budget(plan_of(arguments.stack, tenants))
        found.pop("by_service"), found.pop("by_tenant_own")
        print(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
