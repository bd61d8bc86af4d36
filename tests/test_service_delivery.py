"""Service delivery (DESIGN sections 3, 4 and 6): GitHub team and repositories from the template, ECR
repositories, the tenants' CI roles, branch rules, and Argo CD Applications per environment."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from crd_schemas import validate_custom
from helpers import TEMPLATE_DIR, write_tenants
from planning import example_plan, of_type, plan_stack
from tokens import (
    ACTIONS_VARIABLE,
    APPLICATION,
    BRANCH,
    BRANCH_DEFAULT,
    COLLABORATORS,
    CONFIG_MAP,
    CUSTOM_PROPERTY,
    DEPLOYMENT,
    ECR,
    ECR_LIFECYCLE,
    ECR_POLICY,
    GITHUB_PROVIDER,
    GITHUB_REPOSITORY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    LOCAL_COMMAND,
    OIDC_PROVIDER,
    OIDC_SUBJECT_TEMPLATE,
    ORGANISATION_PROPERTY,
    REPOSITORY_FILE,
    RULESET,
    TEAM,
    TEAM_MEMBERS,
)

from components.delivery_foundation import PUBLISH_COMMAND
from imaas.declarations import promotion
from imaas.declarations.applications import KEEP_CLAIMS_PATCH
from imaas.incluster import promotion_gate
from imaas.inputs.problems import InputError
from imaas.inputs.template_source import template_version
from imaas.plan.record import Plan, PlannedResource

ACCOUNT = "123456789012"
GLOBAL_PREFIXES = ("github:", "aws:", "pulumi:providers:github", "pulumi:providers:aws")
DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey"
PER_CLUSTER = (DEPLOY_KEY, "pulumi:providers:github")
"""What every stack declares on GitHub for its own cluster: the deploy keys its Argo CD reads with, and the provider
that registers them."""
# What a tenant namespace's services need on its own cluster (their secrets' store role, writers and Secrets Manager
# secrets) is AWS too, but per cluster: declared in the tenant's environment, never global.
PER_ENVIRONMENT = "imaas:tenant:Environment$"


def is_global(resource: PlannedResource) -> bool:
    return resource.type.startswith(GLOBAL_PREFIXES) and PER_ENVIRONMENT not in resource.urn


ACTIVE_SERVICES = {
    "orders": {"order-sync": ["dev", "test", "prod"], "order-events": ["dev", "test"]},
    "payments": {"card-gateway": ["dev", "prod"]},
    "hr": {"employee-sync": ["dev", "test", "prod"]},
}
RETIRED_SERVICES = {"hr": ["payroll-export"]}


def named(plan: Plan, type_: str) -> dict[str, PlannedResource]:
    return {resource.name: resource for resource in of_type(plan, type_)}


# --- global resources -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_only_the_stack_that_owns_global_resources_declares_them() -> None:
    # Each stack's own deploy keys are the exception: they are the cluster's access, not the repository's.
    prod = [r for r in example_plan("prod").resources if is_global(r)]
    assert {r.type for r in prod} == set(PER_CLUSTER)
    dev_types = {r.type for r in example_plan("dev").resources}
    assert {TEAM, GITHUB_REPOSITORY, ECR, IAM_ROLE, OIDC_PROVIDER, RULESET} <= dev_types


@pytest.mark.slow
def test_the_two_stacks_together_declare_every_global_resource_exactly_once() -> None:
    declared = Counter(
        (r.type, r.name)
        for stack in ("dev", "prod")
        for r in example_plan(stack).resources
        if is_global(r) and not r.type.startswith(PER_CLUSTER)
    )
    assert declared and set(declared.values()) == {1}
    services = sum(len(s) for s in ACTIVE_SERVICES.values()) + sum(len(s) for s in RETIRED_SERVICES.values())
    assert Counter(type_ for type_, _ in declared)[ECR] == services
    assert Counter(type_ for type_, _ in declared)[GITHUB_REPOSITORY] == services + 1  # and the template


@pytest.mark.slow
def test_each_tenant_has_its_team_with_maintainers_and_members() -> None:
    plan = example_plan("dev")
    assert set(named(plan, TEAM)) == set(ACTIVE_SERVICES)
    members = {m["username"]: m["role"] for m in named(plan, TEAM_MEMBERS)["orders-members"].inputs["members"]}
    assert members == {"alice": "maintainer", "bob": "member", "carol": "member"}


@pytest.mark.slow
def test_the_template_repository_gets_the_service_template_as_one_published_version() -> None:
    plan = example_plan("dev")
    template = named(plan, GITHUB_REPOSITORY)["imaas-service-template"].inputs
    assert template["isTemplate"] is True
    assert not of_type(plan, REPOSITORY_FILE), "one commit per version, not one per file"
    (publication,) = of_type(plan, LOCAL_COMMAND)
    # The version is the git tree id of templates/service: the state records what each up published.
    version = template_version(TEMPLATE_DIR)
    assert publication.inputs["environment"] == {
        "IMAAS_TEMPLATE_OWNER": "example-org",
        "IMAAS_TEMPLATE_REPOSITORY": "imaas-service-template",
        "IMAAS_TEMPLATE_VERSION": version,
    }
    assert publication.inputs["create"] == publication.inputs["update"] == PUBLISH_COMMAND
    assert "delete" not in publication.inputs, "removing the resource leaves the published versions"
    (default_branch,) = [r for r in of_type(plan, BRANCH_DEFAULT) if r.inputs["repository"] == "imaas-service-template"]
    assert publication.dependsOn == [default_branch.urn]


@pytest.mark.fast
def test_the_published_version_follows_the_template_content(tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(TEMPLATE_DIR, copy)
    before = template_version(copy)
    (copy / "README.md").write_text((copy / "README.md").read_text() + "\nOne more line.\n")
    assert template_version(copy) != before


@pytest.mark.slow
def test_service_repositories_come_from_the_template_and_are_archived_never_deleted() -> None:
    plan = example_plan("dev")
    repositories = named(plan, GITHUB_REPOSITORY)
    for tenant, services in ACTIVE_SERVICES.items():
        for service in services:
            repository = repositories[f"{tenant}-{service}"]
            assert repository.inputs["template"] == {"owner": "example-org", "repository": "imaas-service-template"}
            assert repository.inputs["archived"] is False
            assert repository.inputs["archiveOnDestroy"] is True
            assert repository.retainOnDelete or repository.protect
    assert {repository.inputs["visibility"] for repository in repositories.values()} == {"private"}
    assert repositories["hr-payroll-export"].inputs["archived"] is True


@pytest.mark.slow
def test_internal_repositories_where_the_organisation_has_them(tmp_path: Path) -> None:
    services = [{"name": "api", "visibility": "internal"}, {"name": "web"}]
    plan = plan_stack("dev", write_tenants(tmp_path, shop={"services": services}), githubEnterprise=True)
    repositories = named(plan, GITHUB_REPOSITORY)
    assert repositories["shop-api"].inputs["visibility"] == "internal"
    assert repositories["shop-web"].inputs["visibility"] == "private"


@pytest.mark.slow
def test_service_repositories_have_a_branch_per_environment_each_cut_from_the_one_below() -> None:
    branches = {(b.inputs["repository"], b.inputs["branch"]): b.inputs for b in of_type(example_plan("dev"), BRANCH)}
    expected = {
        (f"{tenant}-{service}", env)
        for tenant, services in ACTIVE_SERVICES.items()
        for service, envs in services.items()
        for env in envs
        if env != "dev"
    }
    assert set(branches) == expected
    order = ["dev", "test", "prod"]
    for (repository, branch), inputs in branches.items():
        tenant_service = next((t, s) for t, ss in ACTIVE_SERVICES.items() for s in ss if f"{t}-{s}" == repository)
        envs = ["dev", *ACTIVE_SERVICES[tenant_service[0]][tenant_service[1]]]
        below = [env for env in order[: order.index(branch)] if env in envs][-1]
        assert inputs["sourceBranch"] == below, (repository, branch)


@pytest.mark.slow
def test_the_team_writes_and_maintainers_administer_each_active_repository() -> None:
    collaborators = named(example_plan("dev"), COLLABORATORS)
    orders = collaborators["orders-order-sync-access"].inputs
    assert orders["teams"] == [{"teamId": "orders-id", "permission": "push"}]
    assert orders["users"] == [{"username": "alice", "permission": "admin"}]
    assert "hr-payroll-export-access" not in collaborators


@pytest.mark.slow
def test_each_active_repository_tells_its_ci_where_to_push() -> None:
    variable = named(example_plan("dev"), ACTIONS_VARIABLE)["payments-card-gateway-ci"].inputs
    assert variable["variableName"] == "IMAAS_SERVICE"
    value = json.loads(variable["value"])
    assert value.pop("guide")["service"] == "card-gateway"  # the day-two guide, tested below
    assert value == {
        "region": "eu-west-1",
        "registry": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
        "repository": "payments/card-gateway",
        "role": f"arn:aws:iam::{ACCOUNT}:role/imaas-ci-payments-card-gateway",
    }


@pytest.mark.slow
def test_test_and_prod_need_a_pull_request_with_the_ci_check_and_the_gate_each_from_its_app() -> None:
    plan = example_plan("dev")
    rulesets = named(plan, RULESET)
    active = sorted(f"{t}-{s}" for t, services in ACTIVE_SERVICES.items() for s in services)
    prod, test = rulesets["imaas-prod-branches"].inputs, rulesets["imaas-test-branches"].inputs
    # Every active service repository carries the property the rules select, and no other repository does.
    marked = {
        r.inputs["repository"] for r in of_type(plan, CUSTOM_PROPERTY) if r.inputs["propertyName"] == "imaas-service"
    }
    assert sorted(marked) == active
    for ruleset, branch in ((prod, "prod"), (test, "test")):
        assert ruleset["enforcement"] == "active"
        assert ruleset["conditions"]["refName"]["includes"] == [f"refs/heads/{branch}"]
        # By the repositories' property, never by names: no tenant's onboarding changes the rule.
        assert "repositoryName" not in ruleset["conditions"]
        assert ruleset["conditions"]["repositoryProperty"] == {
            "includes": [{"name": "imaas-service", "propertyValues": ["true"], "source": "custom"}],
            "excludes": [],
        }
        assert ruleset["rules"]["deletion"] is True and ruleset["rules"]["nonFastForward"] is True
        # The gate's App (Pulumi.dev.yaml's imaas:promotion.githubApp) and GitHub Actions, each for its own check.
        assert ruleset["rules"]["requiredStatusChecks"] == {
            "requiredChecks": [
                {"context": "Build and test", "integrationId": 15368},
                {"context": f"imaas/promotion-gate/{branch}", "integrationId": 654321},
            ],
            "doNotEnforceOnCreate": True,
            "strictRequiredStatusChecksPolicy": False,
        }
        # Merge commits only: a squash or rebase would leave the branch below no ancestor of this one.
        assert ruleset["rules"]["pullRequest"]["allowedMergeMethods"] == ["merge"]
        # The emergency path: an organisation owner merges a pull request past the checks, recorded by GitHub.
        assert ruleset["bypassActors"] == [{"actorType": "OrganizationAdmin", "bypassMode": "pull_request"}]
    assert prod["rules"]["pullRequest"]["requiredApprovingReviewCount"] == 1
    assert test["rules"]["pullRequest"]["requiredApprovingReviewCount"] == 0


@pytest.mark.slow
def test_the_gate_runs_on_the_cluster_of_dev_and_test_with_its_app_and_soaks() -> None:
    plan = example_plan("dev")
    (config_map,) = [r for r in of_type(plan, CONFIG_MAP) if r.name == "imaas-promotion-gate"]
    config = json.loads(config_map.inputs["data"]["config.json"])
    assert config == {
        "argocdNamespace": "argocd",
        "dashboardUrl": config["dashboardUrl"],
        "githubApp": {"appId": 654321, "installationId": 87654321},
        "intervalSeconds": promotion.GATE_INTERVAL_SECONDS,
        "prometheus": [
            "http://prometheus-tenants.observability.svc.cluster.local:9090",
            "http://kube-prometheus-stack-prometheus.observability.svc.cluster.local:9090",
        ],
        "soakSeconds": {"dev": 900, "test": 3600},
    }
    assert config_map.inputs["data"]["promotion_gate.py"] == Path(promotion_gate.__file__).read_text(encoding="utf-8")
    (deployment,) = [r for r in of_type(plan, DEPLOYMENT) if r.name == "imaas-promotion-gate"]
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "imaas-promotion-gate"
    assert pod["containers"][0]["command"] == ["python", "/opt/imaas/promotion_gate.py"]
    assert {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v} == {"imaas-promotion-gate"}
    (secret,) = [r for r in plan.resources if r.name == "imaas-promotion-gate-key"]
    assert secret.inputs["metadata"]["name"] == "imaas-promotion-gate"
    (role,) = [r for r in plan.resources if r.name == "imaas-promotion-gate-applications" and r.type.endswith(":Role")]
    assert role.inputs["metadata"]["namespace"] == "argocd"
    assert role.inputs["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": ["get", "list"]}
    ]
    # The prod cluster hosts no environment that is promoted from: no gate there (the fence's table still has a
    # policy for its pods, which select none).
    gate = [r.name for r in example_plan("prod").resources if "promotion-gate" in r.name]
    assert gate == ["imaas-fence-promotion-gate"]


@pytest.mark.slow
def test_each_application_promoted_from_names_the_environment_it_is_promoted_to() -> None:
    applications = named(example_plan("dev"), APPLICATION)
    for name, application in applications.items():
        tenant, service, environment = name.rsplit("-", 2)[0], name.rsplit("-", 2)[1], name.rsplit("-", 1)[1]
        services = {f"{t}-{s}": envs for t, ss in ACTIVE_SERVICES.items() for s, envs in ss.items()}
        envs = [e for e in ("dev", "test", "prod") if e in services[name.removesuffix(f"-{environment}")]]
        following = envs[envs.index(environment) + 1] if envs.index(environment) + 1 < len(envs) else None
        assert application.inputs["metadata"]["labels"].get("imaas.io/promotes-to") == following, name
        del tenant, service


@pytest.mark.slow
def test_without_the_gates_app_the_stack_that_declares_the_rulesets_is_refused() -> None:
    with pytest.raises(InputError, match=r"imaas:promotion\.githubApp: the test and prod branches"):
        plan_stack("dev", promotion={"soakMinutes": {"dev": 15}}, promotionGatePrivateKey=None)


# --- registries ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_registries_are_immutable_scanned_encrypted_and_never_deleted() -> None:
    registries = named(example_plan("dev"), ECR)
    assert len(registries) == 5
    for name, registry in registries.items():
        assert registry.inputs["name"] == name
        assert registry.inputs["imageTagMutability"] == "IMMUTABLE"
        assert registry.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert registry.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
        assert registry.inputs["forceDelete"] is False
        assert registry.retainOnDelete or registry.protect


@pytest.mark.slow
def test_image_retention_expires_untagged_images_then_keeps_the_newest() -> None:
    policy = json.loads(named(example_plan("dev"), ECR_LIFECYCLE)["orders/order-sync-retention"].inputs["policy"])
    rules = policy["rules"]
    assert [rule["rulePriority"] for rule in rules] == sorted(rule["rulePriority"] for rule in rules)
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[0]["selection"]["countType"] == "sinceImagePushed"
    assert rules[-1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100}


def surviving(rules: list[dict], images: list[tuple[int, set[str]]]) -> set[int]:
    """ECR's lifecycle evaluation as its documentation states it, on (pushed-at, tags) images: rules by priority;
    an image matching a rule's tags is that rule's, never expired by a later one; a count rule keeps the newest."""
    claimed: set[int] = set()
    expired: set[int] = set()
    for rule in sorted(rules, key=lambda rule: rule["rulePriority"]):
        selection = rule["selection"]

        def matches(tags: set[str], selection: dict = selection) -> bool:
            if selection["tagStatus"] == "untagged":
                return not tags
            if selection["tagStatus"] == "tagged":
                return all(any(tag.startswith(p) for tag in tags) for p in selection["tagPrefixList"])
            return True

        mine = sorted((pushed for pushed, tags in images if pushed not in claimed and matches(tags)), reverse=True)
        claimed |= set(mine)
        if selection["countType"] == "imageCountMoreThan":
            expired |= set(mine[selection["countNumber"] :])
    return {pushed for pushed, _ in images} - expired


@pytest.mark.slow
def test_the_image_an_environment_runs_is_never_expired_however_many_dev_pushes() -> None:
    rules = json.loads(named(example_plan("dev"), ECR_LIFECYCLE)["orders/order-sync-retention"].inputs["policy"])[
        "rules"
    ]
    # Image 0 was promoted to test and prod (the service's CI tagged it so); dev has pushed 300 images since.
    images = [(0, {"c0", "test-c0", "prod-c0"}), *((n, {f"c{n}"}) for n in range(1, 301))]
    kept = surviving(rules, images)
    assert 0 in kept  # what test and prod run
    assert 300 in kept and 1 not in kept  # dev's newest stay, its oldest go
    # The rule the retention had before: keep the newest 100 of any tag, which expires what prod runs.
    assert 0 not in surviving([rules[0], {**rules[-1], "rulePriority": 2}], images)


@pytest.mark.slow
def test_registry_policy_lets_the_tenants_ci_push_and_the_clusters_pull(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, shop={"services": [{"name": "api"}]})
    plan = plan_stack("dev", tenants, ecrPullPrincipals=["210987654321"])
    policy = json.loads(named(plan, ECR_POLICY)["shop/api-access"].inputs["policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert statements["TenantCiPush"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/imaas-ci-shop-api"}
    assert "ecr:PutImage" in statements["TenantCiPush"]["Action"]
    assert statements["ClusterPull"]["Principal"] == {"AWS": ["arn:aws:iam::210987654321:root"]}
    assert "ecr:PutImage" not in statements["ClusterPull"]["Action"]


# --- CI identity ---------------------------------------------------------------------------------------------------


def trust_condition(plan: Plan, tenant: str, service: str) -> dict:
    role = named(plan, IAM_ROLE)[f"imaas-ci-{tenant}-{service}"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Condition"]) == {"StringEquals"}
    return statement["Condition"]["StringEquals"]


@pytest.mark.slow
def test_each_ci_role_trusts_exactly_its_services_repository_by_id_and_branches() -> None:
    plan = example_plan("dev")
    roles = {role.name for role in of_type(plan, IAM_ROLE) if PER_ENVIRONMENT not in role.urn}
    assert roles == {f"imaas-ci-{t}-{s}" for t, services in ACTIVE_SERVICES.items() for s in services}
    templates = {r.inputs["repository"]: r.inputs for r in of_type(plan, OIDC_SUBJECT_TEMPLATE)}
    ids = set()
    for tenant, services in ACTIVE_SERVICES.items():
        for service, envs in services.items():
            # The repository's tokens name it by id (its subject claim template), and only those are trusted.
            assert templates[f"{tenant}-{service}"] == {
                "repository": f"{tenant}-{service}",
                "useDefault": False,
                "includeClaimKeys": ["repository_id", "ref"],
            }
            condition = trust_condition(plan, tenant, service)
            assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
            subjects = condition["token.actions.githubusercontent.com:sub"]
            [repository_id] = {subject.split(":")[1] for subject in subjects}
            assert repository_id.isdigit()
            ids.add(repository_id)
            assert sorted(subjects) == sorted(
                f"repository_id:{repository_id}:ref:refs/heads/{env}" for env in dict.fromkeys(["dev", *envs])
            )
    assert len(ids) == len(roles)  # one repository each, none shared


@pytest.mark.slow
def test_the_properties_the_rules_select_are_editable_by_organisation_owners_only() -> None:
    # A maintainer (admin of the tenant's repositories) cannot take a repository out of the rules; renaming it no
    # longer matters to them (the property stays on the repository), and the next deploy renames it back.
    plan = example_plan("dev")
    properties = {r.inputs["propertyName"]: r.inputs for r in of_type(plan, ORGANISATION_PROPERTY)}
    assert properties["imaas-service"]["valueType"] == "true_false"
    assert properties["imaas-tenant"]["valueType"] == "string"
    assert {p["valuesEditableBy"] for p in properties.values()} == {"org_actors"}
    values = {(r.inputs["repository"], r.inputs["propertyName"]): r.inputs for r in of_type(plan, CUSTOM_PROPERTY)}
    assert values[("orders-order-sync", "imaas-tenant")]["propertyValues"] == ["orders"]
    assert values[("orders-order-sync", "imaas-service")] == {
        "repository": "orders-order-sync",
        "propertyName": "imaas-service",
        "propertyType": "true_false",
        "propertyValues": ["true"],
    }


@pytest.mark.slow
def test_ci_roles_push_only_to_their_services_registry() -> None:
    plan = example_plan("dev")
    for tenant, services in ACTIVE_SERVICES.items():
        for service in services:
            policy = named(plan, IAM_ROLE_POLICY)[f"imaas-ci-{tenant}-{service}-push"].inputs["policy"]
            login, push = json.loads(policy)["Statement"]
            assert (login["Action"], login["Resource"]) == ("ecr:GetAuthorizationToken", "*")
            assert push["Resource"] == [f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{tenant}/{service}"]
            assert not [action for action in push["Action"] if "*" in action or action.startswith("iam:")]


# `aws ecr <subcommand>` calls the ECR API operation of the same name in PascalCase, which is its IAM action, except
# where the CLI wraps another operation.
CLI_OPERATION_EXCEPTIONS = {"get-login-password": "GetAuthorizationToken"}
# What `docker push` to ECR calls (ECR's "Required IAM permissions for pushing an image"), and what the
# amazon-ecr-login action calls to log Docker in.
DOCKER_PUSH_ACTIONS = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
}
ECR_LOGIN_ACTION = "aws-actions/amazon-ecr-login"


def ecr_actions_of_workflows(directory: Path = TEMPLATE_DIR / ".github" / "workflows") -> dict[str, set[str]]:
    """The IAM actions each workflow job calls on ECR, read from its steps."""
    found: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*.y*ml")):
        for job_name, job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].items():
            actions = found.setdefault(f"{path.name}:{job_name}", set())
            for step in job.get("steps") or []:
                if str(step.get("uses", "")).startswith(ECR_LOGIN_ACTION):
                    actions.add("ecr:GetAuthorizationToken")
                script = str(step.get("run", ""))
                for subcommand in re.findall(r"\baws\s+ecr\s+([a-z0-9-]+)", script):
                    operation = CLI_OPERATION_EXCEPTIONS.get(subcommand) or "".join(
                        word.capitalize() for word in subcommand.split("-")
                    )
                    actions.add(f"ecr:{operation}")
                if re.search(r"\bdocker\s+push\b", script):
                    actions |= DOCKER_PUSH_ACTIONS | {"ecr:GetAuthorizationToken"}
    return found


def allows(policy: dict, action: str, resource: str) -> bool:
    return any(
        statement["Effect"] == "Allow"
        and action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        and any(
            r in ("*", resource)
            for r in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
        )
        for statement in policy["Statement"]
    )


@pytest.mark.slow
def test_the_template_workflows_call_ecr_and_their_ci_role_allows_every_call() -> None:
    calls = ecr_actions_of_workflows()
    # The parse finds what the workflow is known to call: log-in, the push, and the promotion's four calls.
    every = set().union(*calls.values())
    assert {"ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage", "ecr:GetAuthorizationToken"} <= every
    plan = example_plan("dev")
    for tenant, services in ACTIVE_SERVICES.items():
        for service in services:
            policy = json.loads(named(plan, IAM_ROLE_POLICY)[f"imaas-ci-{tenant}-{service}-push"].inputs["policy"])
            repository = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{tenant}/{service}"
            denied = {
                (job, action)
                for job, actions in calls.items()
                for action in actions
                if not allows(policy, action, repository)
            }
            assert denied == set(), f"the CI role of {tenant}/{service} does not allow {sorted(denied)}"


@pytest.mark.fast
def test_the_ecr_call_parser_maps_cli_subcommands_to_iam_actions(tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text(
        yaml.safe_dump(
            {
                "jobs": {
                    "j": {
                        "steps": [
                            {"run": "aws ecr describe-images --x\nget() { aws ecr batch-get-image; }\n"},
                            {"run": "aws   ecr get-login-password | docker login"},
                            {"run": "aws ecr put-image \\\n  --image-tag x"},
                        ]
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    assert ecr_actions_of_workflows(tmp_path) == {
        "ci.yaml:j": {"ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:PutImage"}
    }


@pytest.mark.slow
def test_fifty_services_each_get_a_trust_policy_within_iams_limit(tmp_path: Path) -> None:
    # IAM refuses a trust policy over 2,048 characters by default (white space not counted): one role per service
    # keeps each a few subjects long, at the longest names a tenant file allows.
    tenant = "t" * 20
    one = {"min": 1, "max": 1}
    services = [{"name": f"s{index:02d}{'x' * 27}", "replicas": {"dev": one, "test": one}} for index in range(50)]
    # A quota that holds fifty services (two pods each during a release), so that the capacity check lets it plan.
    quota = {"cpu": "100", "memory": "128Gi", "pods": 150, "storage": "10Gi", "ephemeralStorage": "128Gi"}
    plan = plan_stack(
        "dev",
        write_tenants(tmp_path, **{tenant: {"services": services}}),
        sizes={"small": quota},
        quotaMax={**quota, "cpu": "128", "storage": "1Ti"},
    )
    roles = of_type(plan, IAM_ROLE)
    assert len(roles) == 50
    for role in roles:
        compact = json.dumps(json.loads(role.inputs["assumeRolePolicy"]), separators=(",", ":"))
        assert len(compact) <= 2048, (role.name, len(compact))
        assert len(role.inputs["name"]) <= 64


# --- Argo CD Applications -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_active_service_has_an_application_per_hosted_environment(stack: str) -> None:
    hosted = {"dev": {"dev", "test"}, "prod": {"prod"}}[stack]
    applications = named(example_plan(stack), APPLICATION)
    expected = {
        f"{t}-{s}-{env}": (t, s, env)
        for t, services in ACTIVE_SERVICES.items()
        for s, envs in services.items()
        for env in envs
        if env in hosted
    }
    assert set(applications) == set(expected)
    for name, (tenant, service, env) in expected.items():
        inputs = applications[name].inputs
        validate_custom(inputs)
        spec = inputs["spec"]
        assert inputs["metadata"]["namespace"] == "argocd"
        assert inputs["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        assert spec["project"] == tenant
        patches = spec["source"]["kustomize"]["patches"]
        assert patches[0] == KEEP_CLAIMS_PATCH
        # What they do is rendered with the real kustomize in tests/test_service_scaling.py.
        assert [patch["target"]["kind"] for patch in patches[1:]] == ["Deployment", "HorizontalPodAutoscaler"]
        assert spec["source"] == {
            "repoURL": f"git@github.com:example-org/{tenant}-{service}.git",
            "targetRevision": env,
            "path": f"deploy/overlays/{env}",
            "kustomize": {
                "namePrefix": f"{service}-",
                "commonLabels": {"imaas.io/service": service},
                "patches": patches,
            },
        }
        assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": f"{tenant}-{env}"}
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert spec["syncPolicy"]["retry"]["limit"] > 0
        assert "CreateNamespace=false" in spec["syncPolicy"]["syncOptions"]


@pytest.mark.slow
def test_retiring_a_service_deletes_none_of_its_repository_resources(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "before", shop={"services": [{"name": "api"}]})
    before = plan_stack("dev", tenants)
    write_tenants(tenants, shop={"services": [{"name": "api", "lifecycle": "retired"}]})
    after = {r.urn for r in plan_stack("dev", tenants).resources}
    dropped = [r for r in before.resources if r.urn not in after and r.inputs.get("repository") == "shop-api"]
    kept = [r for r in dropped if r.type != DEPLOY_KEY]
    assert {r.type for r in kept} == {
        BRANCH, BRANCH_DEFAULT, COLLABORATORS, ACTIONS_VARIABLE, OIDC_SUBJECT_TEMPLATE, CUSTOM_PROPERTY
    }  # fmt: skip
    assert all(r.retainOnDelete for r in kept)
    # Argo CD's key to it is no data: with no Application left to read the repository, it goes.
    [key] = [r for r in dropped if r.type == DEPLOY_KEY]
    assert not key.retainOnDelete


@pytest.mark.slow
def test_a_retired_service_has_no_applications_and_an_archived_repository() -> None:
    for stack in ("dev", "prod"):
        assert not [a for a in of_type(example_plan(stack), APPLICATION) if "payroll-export" in a.name]
    plan = example_plan("dev")
    assert named(plan, GITHUB_REPOSITORY)["hr-payroll-export"].inputs["archived"] is True
    assert "hr/payroll-export" in named(plan, ECR)  # its images are kept


@pytest.mark.slow
def test_a_retired_tenant_has_no_applications_no_ci_role_and_keeps_its_repositories(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, old={"lifecycle": "retired", "services": [{"name": "api"}]})
    dev, prod = plan_stack("dev", tenants), plan_stack("prod", tenants)
    assert of_type(dev, APPLICATION) == of_type(prod, APPLICATION) == []
    assert of_type(dev, IAM_ROLE) == []
    assert named(dev, GITHUB_REPOSITORY)["old-api"].inputs["archived"] is True
    assert named(dev, ECR)["old/api"].retainOnDelete


@pytest.mark.slow
def test_github_resources_per_service_stay_few() -> None:
    plan = example_plan("dev")
    per_repository = Counter(
        r.inputs.get("repository", r.inputs.get("name"))
        for r in plan.resources
        if r.type in (GITHUB_REPOSITORY, BRANCH, COLLABORATORS, ACTIONS_VARIABLE)
    )
    # repository, access, CI variable, and a branch for each environment other than dev
    assert per_repository["orders-order-sync"] == 5
    assert per_repository["payments-card-gateway"] == 4
    assert per_repository["hr-payroll-export"] == 1


@pytest.mark.slow
def test_a_generated_repository_waits_for_the_template_and_its_branches_for_github_to_fill_it() -> None:
    plan = example_plan("dev")
    repository = named(plan, GITHUB_REPOSITORY)["orders-order-sync"]
    template_content = {r.urn for r in plan.resources if r.inputs.get("repository") == "imaas-service-template"}
    template_content |= {r.urn for r in of_type(plan, LOCAL_COMMAND)}
    assert len(template_content) == 2  # its default branch and its published version
    assert template_content <= set(repository.dependsOn)
    default = named(plan, BRANCH_DEFAULT)["orders-order-sync-default-branch"]
    assert default.inputs == {"repository": "orders-order-sync", "branch": "dev", "rename": True, "waitForRename": True}
    branches = named(plan, BRANCH)
    assert default.urn in branches["orders-order-sync-test"].dependsOn
    assert branches["orders-order-sync-test"].urn in branches["orders-order-sync-prod"].dependsOn
    template_default = named(plan, BRANCH_DEFAULT)["imaas-service-template-default-branch"]
    assert template_default.inputs["waitForRename"] is True
    # GitHub answers 404 or 409 while it fills a generated repository: the branches' provider waits that out.
    providers = {r.name: r.inputs for r in plan.resources if r.type == GITHUB_PROVIDER}
    assert {404, 409} <= set(json.loads(providers["github-branches"]["retryableErrors"]))
    assert not {404, 409} & set(json.loads(providers["github"]["retryableErrors"]))


@pytest.mark.fast
def test_retirement_keeps_claims_argo_cd_neither_deletes_nor_prunes_them() -> None:
    # Argo CD's resource-level sync options: Delete=false survives the Application's cascade deletion, Prune=false a
    # claim dropped from the branch. A strategic merge patch with a target applies to every claim, whatever its name.
    assert KEEP_CLAIMS_PATCH["target"] == {"kind": "PersistentVolumeClaim"}
    patch = yaml.safe_load(KEEP_CLAIMS_PATCH["patch"])
    assert patch["kind"] == "PersistentVolumeClaim"
    options = patch["metadata"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert {"Delete=false", "Prune=false"} <= set(options)


@pytest.mark.slow
def test_each_active_service_repository_gets_its_day_two_guide() -> None:
    """Its own tenant, service and environments: Argo CD and Grafana per environment (from the cluster settings),
    cluster access, where alerts go, its tenant file and how to change size, scale, secrets and exposure."""
    import json

    from planning import FIXTURE_TENANTS, plan_stack

    guide_settings = {
        "argocdUrls": {"dev": "https://argocd.dev.example.com", "prod": "https://argocd.example.com"},
        "grafanaUrls": {"dev": "https://grafana.dev.example.com"},
        "clusterAccessUrl": "https://wiki.example.com/kubernetes-access",
    }
    plan = plan_stack("dev", FIXTURE_TENANTS, serviceGuide=guide_settings)
    guides = {
        resource.inputs["repository"]: json.loads(resource.inputs["value"])["guide"]
        for resource in plan.resources
        if resource.type == ACTIONS_VARIABLE and resource.inputs["variableName"] == "IMAAS_SERVICE"
    }
    # Active services only: payroll-export is retired.
    assert sorted(guides) == ["hr-employee-sync", "orders-order-events", "orders-order-sync", "payments-card-gateway"]
    guide = guides["payments-card-gateway"]
    assert (guide["tenant"], guide["service"]) == ("payments", "card-gateway")
    assert sorted(guide["environments"]) == ["dev", "prod"]
    assert guide["environments"]["dev"]["argocd"] == (
        "https://argocd.dev.example.com/applications/argocd/payments-card-gateway-dev"
    )
    assert (
        guide["environments"]["prod"]["argocd"]
        == "https://argocd.example.com/applications/argocd/payments-card-gateway-prod"
    )
    assert guide["environments"]["dev"]["grafana"] == "https://grafana.dev.example.com"
    assert guide["environments"]["prod"]["grafana"] is None
    assert guide["environments"]["prod"]["namespace"] == "payments-prod"
    assert guide["clusterAccess"] == "https://wiki.example.com/kubernetes-access"
    assert guide["alerts"] == ["payments-team@example.com"]
    assert guide["tenantFile"] == "https://github.com/example-org/imaas/blob/main/tenants/payments.yaml"
    assert set(guide["howTo"]) == {"sizeAndScale", "secrets", "exposure", "release"}
