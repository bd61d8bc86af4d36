"""What an integration needs at run time (issue 30), on the model, the plan and the rules: its secrets (a store per
tenant namespace reading only that tenant's path in that environment, ExternalSecrets, Secrets Manager secrets
declared and kept, the tenant's people writing values), its connections to private backends, and its exposure over
HTTPS under the tenant's own hosts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import write_tenant, write_tenants
from planning import of_type, plan_stack
from pydantic import ValidationError

from imaas.checks.tenants import check_tenants, load_tenants
from imaas.declarations import secrets, types
from imaas.inputs.problems import InputError
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service
from imaas.plan.intent import change_intent
from imaas.plan.record import Plan

SHOP = {
    "access": {"developers": ["shop-devs"]},
    "services": [
        {"name": "api", "secrets": ["db-password", "api-key"], "egress": [{"cidr": "10.20.0.0/16", "ports": [5432]}],
         "expose": True},
        {"name": "batch", "environments": ["dev"], "secrets": ["db-password"]},
        {"name": "old", "lifecycle": "retired", "secrets": ["kept"]},
    ],
}  # fmt: skip
NARROW = ["10.0.0.0/16", "172.20.0.0/16"]
BASE_SETTINGS = {
    "environments": ["dev", "test"],
    "ingressHostSuffix": "apps.example.com",
    "ecrRegistry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
}


# --- the model ---------------------------------------------------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"secrets": ["DB_PASSWORD"]}, "String should match pattern"),
        ({"secrets": ["a/b"]}, "String should match pattern"),
        ({"secrets": ["db", "db"]}, "listed more than once"),
        ({"egress": [{"cidr": "0.0.0.0/0", "ports": [443]}]}, "must be a backend's network, at most /8"),
        ({"egress": [{"cidr": "10.20.0.1/16", "ports": [443]}]}, "host bits set\\); did you mean '10.20.0.0/16'"),
        ({"egress": [{"cidr": "10.20.0.0/16", "ports": [0]}]}, "greater than or equal to 1"),
        ({"egress": [{"cidr": "10.20.0.0/16", "ports": []}]}, "at least 1 item"),
        ({"egress": [{"cidr": "10.20.0.0/16", "ports": [1]}, {"cidr": "10.20.0.0/16", "ports": [2]}]},
         "more than once"),
    ],
)  # fmt: skip
def test_what_a_service_may_declare(service: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Service.model_validate({"name": "api", **service})


@pytest.mark.fast
def test_each_secret_is_a_variable_of_the_container() -> None:
    service = Service.model_validate({"name": "api", "secrets": ["db-password", "api-key"]})
    assert service.secret_variables() == {"db-password": "IMAAS_SECRET_DB_PASSWORD", "api-key": "IMAAS_SECRET_API_KEY"}
    assert secrets.container_variables(service)[0] == {
        "name": "IMAAS_SECRET_DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "imaas-secret-api.db-password", "key": "value"}},
    }


@pytest.mark.fast
@pytest.mark.parametrize(
    ("resource", "within"),
    [
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop/*/dev/*", True),
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop/api/dev/db-password-*", True),
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop/*/prod/*", False),
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop*", False),
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop-eu/*/dev/*", False),
        ("arn:aws:secretsmanager:*:*:secret:imaas/*", False),
        ("arn:aws:secretsmanager:*:*:secret:imaas/shop/*/*/*", False),
        ("*", False),
    ],
)
def test_a_policy_resource_is_within_its_tenant_environment_only_exactly(resource: str, within: bool) -> None:
    assert secrets.within(resource, "shop", "dev") is within


@pytest.mark.fast
def test_the_store_and_writer_policies_name_only_their_tenant_environment() -> None:
    assert secrets.read_policy("shop", "dev")["Statement"][0]["Resource"] == secrets.environment_pattern("shop", "dev")
    assert set(secrets.read_policy("shop", "dev")["Statement"][0]["Action"]) == {
        "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}  # fmt: skip
    # The tenant's people write and describe; they never read, create, delete or list.
    assert set(secrets.write_policy("shop", "prod")["Statement"][0]["Action"]) == {
        "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"}  # fmt: skip
    trust = secrets.store_trust_policy(
        "arn:aws:iam::1:oidc-provider/oidc.example/id/X", "oidc.example/id/X", "shop-dev"
    )
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {
        "oidc.example/id/X:sub": "system:serviceaccount:shop-dev:imaas-secrets",
        "oidc.example/id/X:aud": "sts.amazonaws.com",
    }


@pytest.mark.fast
def test_a_backend_inside_the_clusters_ranges_is_refused_naming_the_range(tmp_path: Path) -> None:
    egress = {"services": [{"name": "api", "egress": [{"cidr": "10.0.4.0/24", "ports": [5432]},
                                                      {"cidr": "169.254.169.254/32", "ports": [80]},
                                                      {"cidr": "10.20.0.0/16", "ports": [5432]}]}]}  # fmt: skip
    tenants = write_tenants(tmp_path / "tenants", shop=egress)
    settings = StackSettings.model_validate({**BASE_SETTINGS, "clusterCidrs": NARROW})
    _, problems = check_tenants(tenants, settings)
    assert [problem.message for problem in problems] == [
        "must be outside the cluster's own range 10.0.0.0/16 (imaas:clusterCidrs), got 10.0.4.0/24: a backend is "
        "outside the cluster; to call another tenant's services, that tenant names yours in its network.allowFrom",
        "must be outside the cluster's own range 169.254.0.0/16 (imaas:clusterCidrs), got 169.254.169.254/32: a "
        "backend is outside the cluster; to call another tenant's services, that tenant names yours in its "
        "network.allowFrom",
    ]
    # Without a stack the cluster's ranges are unknown: nothing to say.
    assert check_tenants(tenants)[1] == []


@pytest.mark.fast
def test_the_review_comment_says_what_changes_in_a_services_run_time_needs(tmp_path: Path) -> None:
    api = {"name": "api", "secrets": ["db-password"], "egress": [{"cidr": "10.20.0.0/16", "ports": [5432]}]}
    before = load_tenants(write_tenants(tmp_path / "before", shop={"services": [api]}))
    changed = {**api, "secrets": ["api-key"], "egress": [{"cidr": "10.30.0.0/16", "ports": [443, 8443]}]}
    bounds = {"min": 1, "max": 2}  # stated, so that the line holds whatever the defaults are
    added = {"name": "web", "secrets": ["token"], "expose": True, "replicas": {"dev": bounds, "test": bounds}}
    after = load_tenants(write_tenants(tmp_path / "after", shop={"services": [{**changed, "expose": True}, added]}))
    settings = StackSettings.model_validate(BASE_SETTINGS)
    (intent,) = change_intent(before, after, settings).tenants
    assert intent.lines == [
        "adds service `web`: small, replicas 1-2 in dev and test; secrets `token`; exposed over HTTPS",
        "exposes service `api` over HTTPS in dev, test",
        "changes service `api`'s secrets: adds `api-key`; removes `db-password`",
        "changes service `api`'s backends (egress): adds `10.30.0.0/16 ports 443, 8443`; removes "
        "`10.20.0.0/16 port 5432`",
    ]


# --- the plan ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    tenants = write_tenants(tmp_path_factory.mktemp("tenants"), shop=SHOP, bank={"services": [{"name": "ledger"}]})
    return {stack: plan_stack(stack, tenants, clusterCidrs=NARROW) for stack in ("dev", "prod")}


def named(plan: Plan, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in of_type(plan, type_)}


@pytest.mark.slow
def test_each_environment_has_one_store_reading_its_own_path_as_its_own_role(plans: dict[str, Plan]) -> None:
    for stack, environments in (("dev", ["dev", "test"]), ("prod", ["prod"])):
        plan = plans[stack]
        stores = named(plan, types.SECRET_STORE)
        assert set(stores) == {f"shop-{env}-secretstore-imaas-secrets" for env in environments}
        roles = named(plan, types.IAM_ROLE)
        for env in environments:
            role = roles[f"imaas-store-shop-{env}"]
            trust = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
            assert [v for k, v in trust.items() if k.endswith(":sub")] == [
                f"system:serviceaccount:shop-{env}:imaas-secrets"
            ]
            policy = json.loads(named(plan, types.IAM_ROLE_POLICY)[f"imaas-store-shop-{env}-read"]["policy"])
            assert policy["Statement"][0]["Resource"] == f"arn:aws:secretsmanager:*:*:secret:imaas/shop/*/{env}/*"
        # bank declares no secret: no store, role or account of its own.
        assert not [name for name in roles if "bank" in name and name.startswith("imaas-store-")]


@pytest.mark.slow
def test_each_secret_is_declared_retained_without_a_value_and_synced_in_each_environment(
    plans: dict[str, Plan],
) -> None:
    dev = plans["dev"]
    declared = {r.name: r for r in of_type(dev, types.SECRETS_MANAGER_SECRET)}
    assert set(declared) == {
        "imaas/shop/api/dev/db-password", "imaas/shop/api/dev/api-key", "imaas/shop/api/test/db-password",
        "imaas/shop/api/test/api-key", "imaas/shop/batch/dev/db-password",
    }  # fmt: skip
    for resource in declared.values():
        assert resource.retainOnDelete and not resource.protect
        # No value, ever: the secret's versions are the tenant's.
        assert not {"secretString", "secretBinary", "secretStringWo"} & set(resource.inputs)
    assert not of_type(dev, "aws:secretsmanager/secretVersion:SecretVersion")
    external = named(dev, types.EXTERNAL_SECRET)
    spec = external["shop-dev-externalsecret-imaas-secret-api.db-password"]["spec"]
    assert spec["data"] == [{"secretKey": "value", "remoteRef": {"key": "imaas/shop/api/dev/db-password"}}]
    assert spec["target"]["name"] == "imaas-secret-api.db-password"
    # The retired service's secret is neither synced nor declared any more, and so kept where it is.
    assert not [name for name in external if ".kept" in name] and not [n for n in declared if n.endswith("/kept")]


@pytest.mark.slow
def test_the_service_reads_its_secrets_from_the_applications_patch(plans: dict[str, Plan]) -> None:
    (application,) = [r for r in of_type(plans["prod"], types.APPLICATION) if r.name == "shop-api-prod"]
    (patch,) = [p for p in application.inputs["spec"]["source"]["kustomize"]["patches"]
                if p.get("target", {}).get("kind") == "Deployment"]  # fmt: skip
    (container,) = json.loads(patch["patch"])["spec"]["template"]["spec"]["containers"]
    variables = {v["name"]: v for v in container["env"]}
    assert variables["IMAAS_SECRET_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "imaas-secret-api.api-key",
        "key": "value",
    }


@pytest.mark.slow
def test_the_tenants_people_write_through_the_mechanism_the_stack_names(plans: dict[str, Plan]) -> None:
    # dev: an Identity Center permission set per environment, assigned to the tenant's developer groups.
    dev = plans["dev"]
    sets = named(dev, types.SSO_PERMISSION_SET)
    assert set(sets) == {"imaas-shop-dev", "imaas-shop-test"}
    assignments = named(dev, types.SSO_ACCOUNT_ASSIGNMENT)
    assert set(assignments) == {"imaas-shop-dev-shop-devs", "imaas-shop-test-shop-devs"}
    assert {a["principalType"] for a in assignments.values()} == {"GROUP"}
    policy = json.loads(named(dev, types.SSO_PERMISSION_SET_POLICY)["imaas-shop-dev-write"]["inlinePolicy"])
    assert policy["Statement"][0]["Resource"] == "arn:aws:secretsmanager:*:*:secret:imaas/shop/*/dev/*"
    # prod: a role the identity provider maps the tenant's groups to, trusting the SAML provider only.
    role = named(plans["prod"], types.IAM_ROLE)["imaas-write-shop-prod"]
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": "arn:aws:iam::123456789012:saml-provider/example-idp"}


@pytest.mark.slow
def test_an_exposed_service_gets_a_listener_certificate_and_route_under_its_tenants_host(
    plans: dict[str, Plan],
) -> None:
    prod = plans["prod"]
    host = "api.shop.prod.apps.example.com"
    (listeners,) = named(prod, types.LISTENER_SET).values()
    assert [
        (item["hostname"], item["tls"]["certificateRefs"][0]["name"]) for item in listeners["spec"]["listeners"]
    ] == [(host, "imaas-tls-api")]
    assert listeners["spec"]["parentRef"]["kind"] == "Gateway"
    (certificate,) = named(prod, types.CERTIFICATE).values()
    assert certificate["spec"]["dnsNames"] == [host]
    assert certificate["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    (route,) = named(prod, types.HTTP_ROUTE).values()
    assert route["spec"]["hostnames"] == [host]
    assert route["spec"]["parentRefs"][0]["kind"] == "ListenerSet"
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "api-wso2mi-service", "port": 8290}]
    (gateway,) = named(prod, types.GATEWAY).values()
    assert gateway["spec"]["allowedListeners"]["namespaces"]["from"] == "Selector"


@pytest.mark.slow
def test_the_operators_are_pinned_releases_the_platforms_objects_wait_for(plans: dict[str, Plan]) -> None:
    releases = {r.inputs["chart"]: r for r in of_type(plans["dev"], types.HELM_RELEASE)}
    assert releases["external-secrets"].inputs["version"] == "2.9.0"
    assert releases["cert-manager"].inputs["version"] == "v1.21.1"
    eso = releases["external-secrets"].urn
    for store in of_type(plans["dev"], types.SECRET_STORE):
        assert eso in store.dependsOn
    # Cluster-wide stores and pushes are never acted on.
    values = releases["external-secrets"].inputs["values"]
    assert values["processClusterStore"] is False and values["processPushSecret"] is False


PER_TENANT = (
    types.SECRET_STORE, types.EXTERNAL_SECRET, types.SECRETS_MANAGER_SECRET, types.SSO_PERMISSION_SET,
    types.LISTENER_SET, types.CERTIFICATE, types.HTTP_ROUTE,
)  # fmt: skip


@pytest.mark.slow
def test_the_operators_and_gateway_are_the_shared_stacks_and_each_tenants_needs_its_own_stacks(
    tmp_path: Path,
) -> None:
    """Issue 25's layout: External Secrets Operator, cert-manager and the Gateway (which admits ListenerSets by their
    namespaces' label, not by a list) in the shared stack, which names no tenant; each tenant's stores, roles,
    secrets, listeners, certificates, routes and service policies in the tenant's stack, under its component, with
    the operators' CRDs from the shared stack's earlier wave."""
    tenants = write_tenants(tmp_path, shop=SHOP, bank={"services": [{"name": "ledger"}]})
    shared = plan_stack("dev", tenants, whole_cluster=False, clusterCidrs=NARROW)
    charts = {r.inputs["chart"] for r in of_type(shared, types.HELM_RELEASE)}
    assert {"external-secrets", "cert-manager"} <= charts
    assert len(of_type(shared, types.GATEWAY)) == 1
    assert not [r.name for type_ in PER_TENANT for r in of_type(shared, type_)]
    assert not [r.name for r in of_type(shared, types.IAM_ROLE) if r.name.startswith("imaas-store-")]
    shop = plan_stack("dev.shop", tenants, clusterCidrs=NARROW)
    assert not of_type(shop, types.HELM_RELEASE) and not of_type(shop, types.GATEWAY)
    assert {r.name for r in of_type(shop, types.SECRET_STORE)} == {
        "shop-dev-secretstore-imaas-secrets", "shop-test-secretstore-imaas-secrets"
    }  # fmt: skip
    assert {r.name for r in of_type(shop, types.IAM_ROLE) if r.name.startswith("imaas-store-")} == {
        "imaas-store-shop-dev", "imaas-store-shop-test"
    }  # fmt: skip
    assert of_type(shop, types.LISTENER_SET) and of_type(shop, types.HTTP_ROUTE) and of_type(shop, types.CERTIFICATE)
    for type_ in PER_TENANT:
        for resource in of_type(shop, type_):
            assert "$imaas:index:Tenant$" in resource.urn, resource.urn
    # bank's stack holds none of shop's.
    bank = plan_stack("dev.bank", tenants, clusterCidrs=NARROW)
    assert not [r.name for type_ in PER_TENANT for r in of_type(bank, type_) if "shop" in r.name]


# --- prerequisites -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_secrets_and_exposure_without_their_settings_are_refused_naming_them(tmp_path: Path) -> None:
    write_tenant(tmp_path, "shop", "services:\n  - name: api\n    secrets: [db]\n    expose: true\n")
    with pytest.raises(InputError) as raised:
        plan_stack("prod", tmp_path, tenantSecrets=None, exposure=None)
    exposure, secret = sorted(str(problem) for problem in raised.value.problems)
    assert secret.startswith("Pulumi.prod.yaml: imaas:tenantSecrets: services declare secrets (shop/")
    assert "lacks tenantSecrets:" in secret
    assert exposure.startswith("Pulumi.prod.yaml: imaas:exposure: services are exposed (shop/api)")
