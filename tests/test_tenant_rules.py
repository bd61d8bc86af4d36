"""The tenant file rules of DESIGN section 3, each with a failing example and the exact line it reports.

Every test runs inside its own temporary folder (`monkeypatch.chdir`), so problems name files as a user
types them: `tenants/payments.yaml:10:17: spec.network.allowFrom[0]: ...`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CLUSTER_VALUES, PROJECT_DIR, git, lines, tenant_text, write_tenant
from planning import FIXTURE_TENANTS

from imaas.checks.tenants import check_tenants, load_tenants
from imaas.inputs.problems import UsageError
from imaas.inputs.stack_file import read_stack_file
from imaas.model.settings import StackSettings

TENANTS = Path("tenants")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems(settings: StackSettings | None = None, base: str | None = None) -> list[str]:
    return lines(check_tenants(TENANTS, settings, base)[1])


# Above the built-in sizes, which every stack's sizes must be within.
QUOTA_MAX = {"cpu": "96", "memory": "128Gi", "pods": 150, "storage": "200Gi", "ephemeralStorage": "128Gi"}


def settings(**values: object) -> StackSettings:
    return StackSettings.model_validate({"environments": ["dev", "test", "prod"], **CLUSTER_VALUES, **values})


# --- valid input -------------------------------------------------------------------------------------------------


def write_valid_set() -> None:
    write_tenant(
        TENANTS,
        "orders",
        """\
        size: medium
        services:
          - name: order-sync
          - name: order-events
            environments: [dev, test]
        """,
    )
    write_tenant(
        TENANTS,
        "payments",
        """\
        environments: [prod, dev]
        quota: {cpu: "6", memory: 12Gi, pods: 150, storage: 200Gi}
        network:
          allowFrom: [orders]
        services:
          - name: card-gateway
            environments: [prod]
          - name: old-gateway
            lifecycle: retired
        """,
    )
    write_tenant(TENANTS, "hr", "lifecycle: retired\nnetwork:\n  allowFrom: [payments]\n", suffix=".yml")


@pytest.mark.fast
def test_a_valid_set_of_tenants_has_no_problems() -> None:
    write_valid_set()
    dev = settings(environments=["dev", "test"], quotaMax=QUOTA_MAX)

    files, found = check_tenants(TENANTS, dev)

    assert lines(found) == []
    assert sorted(tenant_file.file for tenant_file in files) == [
        "tenants/hr.yml",
        "tenants/orders.yaml",
        "tenants/payments.yaml",
    ]
    assert problems() == []
    assert [tenant.name for tenant in load_tenants(TENANTS)] == ["hr", "orders", "payments"]


@pytest.mark.fast
def test_names_at_the_length_limits_are_valid() -> None:
    write_tenant(TENANTS, "ab", "services:\n  - name: cd\n")
    write_tenant(TENANTS, "a" * 20, f"services:\n  - name: {'s' * 30}\n")
    write_tenant(TENANTS, "team-2", "services:\n  - name: a-1-b\n")

    assert problems() == []


@pytest.mark.fast
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_fixture_tenants_are_valid_against_each_stack(stack: str) -> None:
    """The tests' own tenant set is valid; the shipped `tenants/` folder is the pull-request checks' to validate."""
    stack_settings = read_stack_file(PROJECT_DIR, stack).settings

    files, found = check_tenants(FIXTURE_TENANTS, stack_settings)

    assert lines(found) == []
    assert sorted(tenant_file.tenant.name for tenant_file in files) == ["hr", "orders", "payments"]


# --- one file on its own -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Payments", "must be lower case, got 'Payments'; did you mean 'payments'?"),
        ("2fa", "must start with a letter, got '2fa'"),
        ("payments-", "must end with a letter or a digit, got 'payments-'; did you mean 'payments'?"),
        (
            "pay_ments",
            "may hold only lower-case letters, digits and single dashes, not '_', got 'pay_ments';"
            " did you mean 'pay-ments'?",
        ),
        (
            "pay.ments",
            "may hold only lower-case letters, digits and single dashes, not '.', got 'pay.ments';"
            " did you mean 'pay-ments'?",
        ),
        ("p", "must be at least 2 characters, got 'p'"),
        ("abcdefghijklmnopqrstu", "must be at most 20 characters, got 21"),
        ("pay--ments", "must not contain '--', got 'pay--ments'; did you mean 'pay-ments'?"),
    ],
)
@pytest.mark.fast
def test_tenant_name_rules(name: str, message: str) -> None:
    # In a file of a valid name: a file named otherwise is refused by its name alone, before it is read.
    write_tenant(TENANTS, "team", text=tenant_text(name))

    assert problems() == [f"tenants/team.yaml:4:9: metadata.name: {message}"]
    (TENANTS / "team.yaml").rename(TENANTS / f"{name}.yaml")
    assert problems() == [
        f"tenants/: '{name}.yaml' is not a tenant file name: name it <tenant>.yaml, the tenant's name (2 to 20 "
        "lower-case letters, digits and single dashes, starting with a letter)"
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Sync", "must be lower case, got 'Sync'; did you mean 'sync'?"),
        ("-sync", "must start with a letter, got '-sync'; did you mean 'sync'?"),
        ("s", "must be at least 2 characters, got 's'"),
        ("s" * 31, "must be at most 30 characters, got 31"),
        ("order--sync", "must not contain '--', got 'order--sync'; did you mean 'order-sync'?"),
        (
            "Order Sync",
            "must be lower case, got 'Order Sync'; did you mean 'order-sync'?",
        ),
        (
            "order sync",
            "may hold only lower-case letters, digits and single dashes, not ' ', got 'order sync';"
            " did you mean 'order-sync'?",
        ),
    ],
)
@pytest.mark.fast
def test_service_name_rules(name: str, message: str) -> None:
    write_tenant(TENANTS, "orders", f"services:\n  - name: ok\n  - name: '{name}'\n")

    # Line 11 is `    - name: '<name>'`: the value starts at column 13.
    assert problems() == [f"tenants/orders.yaml:11:13: spec.services[1].name: {message}"]


@pytest.mark.fast
@pytest.mark.parametrize("contact", ["payments-team", "payments@example", "pay ments@example.com", "a@b@example.com"])
def test_contact_must_be_an_email_address(contact: str) -> None:
    write_tenant(TENANTS, "payments", text=tenant_text("payments").replace("payments-team@example.com", contact))

    assert problems() == [f"tenants/payments.yaml:5:12: metadata.contact: must be an e-mail address, got '{contact}'"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda text: text.replace("maintainers: [alice]", "maintainer: [alice]"),
            [
                "tenants/payments.yaml:8:5: spec.team.maintainer: unknown key 'maintainer';"
                " did you mean 'maintainers'?",
                # The required key is then missing: reported at the mapping it belongs in.
                "tenants/payments.yaml:8:5: spec.team.maintainers: is required",
            ],
        ),
        (
            lambda text: text + "  network:\n    alowFrom: [orders]\n",
            ["tenants/payments.yaml:10:5: spec.network.alowFrom: unknown key 'alowFrom'; did you mean 'allowFrom'?"],
        ),
        (
            lambda text: text + "  service:\n    - name: sync\n",
            ["tenants/payments.yaml:9:3: spec.service: unknown key 'service'; did you mean 'services'?"],
        ),
        (
            lambda text: text.replace("spec:\n", "  displayname: Payments\nspec:\n"),
            ["tenants/payments.yaml:6:3: metadata.displayname: unknown key 'displayname'; did you mean 'displayName'?"],
        ),
        (
            lambda text: text + "  services:\n    - name: sync\n      enviroments: [dev]\n",
            [
                "tenants/payments.yaml:11:7: spec.services[0].enviroments: unknown key 'enviroments';"
                " did you mean 'environments'?"
            ],
        ),
    ],
    ids=["maintainer", "alowFrom", "service", "displayname", "enviroments"],
)
@pytest.mark.fast
def test_unknown_key_close_to_a_known_one_gets_a_hint(edit, expected: list[str]) -> None:
    write_tenant(TENANTS, "payments", text=edit(tenant_text("payments")))

    assert problems() == expected


@pytest.mark.fast
def test_unknown_key_far_from_any_known_one_lists_the_allowed_keys() -> None:
    write_tenant(TENANTS, "payments", text=tenant_text("payments", "owner: bob\n") + "status: ready\n")

    assert problems() == [
        "tenants/payments.yaml:9:3: spec.owner: unknown key 'owner';"
        " allowed keys: lifecycle, team, access, environments, size, quota, network, alerting, services",
        "tenants/payments.yaml:10:1: status: unknown key 'status'; allowed keys: apiVersion, kind, metadata, spec",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payments\n  contact: p@example.com\n",
            "tenants/payments.yaml:1:1: spec: is required",
        ),
        (
            "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payments\nspec:\n  team:\n"
            "    maintainers: [alice]\n",
            "tenants/payments.yaml:4:3: metadata.contact: is required",
        ),
        (
            "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payments\n  contact: p@example.com\n"
            "spec:\n  size: small\n",
            "tenants/payments.yaml:7:3: spec.team: is required",
        ),
        (
            tenant_text("payments").replace("maintainers: [alice]", "maintainers: []"),
            "tenants/payments.yaml:8:18: spec.team.maintainers: must have at least 1 entry",
        ),
        (
            tenant_text("payments", "services:\n  - description: no name\n"),
            "tenants/payments.yaml:10:7: spec.services[0].name: is required",
        ),
    ],
    ids=["spec", "contact", "team", "maintainers-empty", "service-name"],
)
@pytest.mark.fast
def test_missing_required_field(text: str, expected: str) -> None:
    write_tenant(TENANTS, "payments", text=text)

    assert problems() == [expected]


@pytest.mark.fast
def test_wrong_api_version_and_kind() -> None:
    text = tenant_text("payments").replace("imaas.io/v1alpha1", "imaas.io/v1").replace("kind: Tenant", "kind: Tenants")
    write_tenant(TENANTS, "payments", text=text)

    assert problems() == [
        "tenants/payments.yaml:1:13: apiVersion: must be one of 'imaas.io/v1alpha1', got 'imaas.io/v1'; did you mean "
        "'imaas.io/v1alpha1'?",
        "tenants/payments.yaml:2:7: kind: must be one of 'Tenant', got 'Tenants'; did you mean 'Tenant'?",
    ]


@pytest.mark.fast
def test_file_stem_must_equal_the_tenant_name() -> None:
    TENANTS.mkdir()
    (TENANTS / "payment.yaml").write_text(tenant_text("payments"))

    assert problems() == ["tenants/payment.yaml:4:9: metadata.name: must equal the file name 'payment', got 'payments'"]


@pytest.mark.fast
def test_a_maintainer_cannot_also_be_a_member() -> None:
    text = tenant_text("payments").replace(
        "maintainers: [alice]", "maintainers: [alice, bob]\n    members: [carol, bob]"
    )
    write_tenant(TENANTS, "payments", text=text)

    assert problems() == ["tenants/payments.yaml:8:5: spec.team: bob listed both as maintainer and as member"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "environments: [dev, test, dev]\n",
            "9:29: spec.environments[2]: 'dev' is listed more than once (first at line 9)",
        ),
        (
            "services:\n  - name: sync\n    environments: [prod, prod]\n",
            "11:28: spec.services[0].environments[1]: 'prod' is listed more than once (first at line 11)",
        ),
        (
            "network:\n  allowFrom: [orders, orders]\n",
            "10:25: spec.network.allowFrom[1]: 'orders' is listed more than once (first at line 10)",
        ),
        (
            "access:\n  viewers:\n    - auditors\n    - developers\n    - auditors\n",
            "13:9: spec.access.viewers[2]: 'auditors' is listed more than once (first at line 11)",
        ),
    ],
    ids=["tenant-environments", "service-environments", "allowFrom", "viewers"],
)
@pytest.mark.fast
def test_lists_may_not_repeat_an_entry(spec: str, expected: str) -> None:
    write_tenant(TENANTS, "orders")
    write_tenant(TENANTS, "payments", spec)

    assert problems() == [f"tenants/payments.yaml:{expected}"]


QUANTITY_RULE = (
    "must be a Kubernetes quantity above 0: a number and an optional suffix (m, k, M, G, T, Ki, Mi, Gi, Ti, ...)"
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8GB", f"{QUANTITY_RULE}, got '8GB'; did you mean '8Gi'?"),
        ("8gib", f"{QUANTITY_RULE}, got '8gib'; did you mean '8Gi'?"),
        ("8 Gi", f"{QUANTITY_RULE}, got '8 Gi'; did you mean '8Gi'?"),
        ("8g", f"{QUANTITY_RULE}, got '8g'; did you mean '8G'?"),
        ("4 cores", f"{QUANTITY_RULE}, got '4 cores'; did you mean '4'?"),
        ("2 vCPU", f"{QUANTITY_RULE}, got '2 vCPU'; did you mean '2'?"),
        ("2,5", f"{QUANTITY_RULE}, got '2,5'; did you mean '2.5'?"),
        ("1e3Mi", f"{QUANTITY_RULE}, got '1e3Mi'; write it without an exponent: '1000Mi'"),
        ("lots", f"{QUANTITY_RULE}, got 'lots'"),
        (-1, "must be a number from 0 to 1000000000000000000 (or a quantity with a suffix), got -1"),
    ],
)
@pytest.mark.fast
def test_a_quantity_that_is_not_one_says_which_was_meant(value: object, message: str) -> None:
    write_tenant(TENANTS, "payments", f"quota:\n  memory: {value}\n")

    assert problems() == [f"tenants/payments.yaml:10:13: spec.quota.memory: {message}"]


@pytest.mark.fast
def test_a_quantity_may_be_a_yaml_number() -> None:
    write_tenant(TENANTS, "payments", "quota:\n  cpu: 2.5\n  memory: 8589934592\n  storage: 1000000\n")

    tenant = load_tenants(TENANTS)[0]

    assert tenant.spec.quota is not None
    assert (tenant.spec.quota.cpu, tenant.spec.quota.memory, tenant.spec.quota.storage) == (
        "2.5",
        "8589934592",
        "1000000",
    )


@pytest.mark.fast
def test_a_tenant_file_takes_its_keys_only_as_written_in_the_reference() -> None:
    write_tenant(TENANTS, "payments", text=tenant_text("payments").replace("spec:\n", "  cost_center: CC-1\nspec:\n"))

    assert problems() == [
        "tenants/payments.yaml:6:3: metadata.cost_center: unknown key 'cost_center'; did you mean 'costCenter'?"
    ]


@pytest.mark.fast
def test_environment_must_be_a_known_one() -> None:
    write_tenant(TENANTS, "payments", "environments: [dev, staging]\n")

    assert problems() == [
        "tenants/payments.yaml:9:23: spec.environments[1]: must be one of 'dev', 'test' or 'prod', got 'staging'"
    ]


# --- rules that span files ---------------------------------------------------------------------------------------


@pytest.mark.fast
def test_duplicate_tenant_names_in_a_yaml_and_a_yml_file() -> None:
    write_tenant(TENANTS, "ab", "services:\n  - name: sync\n")
    write_tenant(TENANTS, "ab", "services:\n  - name: sync\n", suffix=".yml")

    # Only the duplicate itself: the derived names of a tenant never collide with its own copy.
    assert problems() == ["tenants/ab.yml:4:9: metadata.name: tenant 'ab' is already defined in tenants/ab.yaml"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("default", "'default' is reserved for the platform"),
        ("argocd", "'argocd' is reserved for the platform"),
        ("observability", "'observability' is reserved for the platform"),
        ("imaas", "'imaas' is reserved for the platform"),
        ("platform", "'platform' is reserved for the platform"),
        ("kube-system", "'kube-system' is reserved: names starting with 'kube-' belong to Kubernetes"),
        ("kube-public", "'kube-public' is reserved: names starting with 'kube-' belong to Kubernetes"),
    ],
)
@pytest.mark.fast
def test_reserved_tenant_names(name: str, message: str) -> None:
    write_tenant(TENANTS, name)

    assert problems() == [f"tenants/{name}.yaml:4:9: metadata.name: {message}"]
    assert problems(settings()) == [f"tenants/{name}.yaml:4:9: metadata.name: {message}"]


@pytest.mark.fast
def test_a_platform_namespace_is_a_reserved_tenant_name() -> None:
    write_tenant(TENANTS, "ingress-nginx")

    assert any(line.startswith("tenants/ingress-nginx.yaml:4:9: metadata.name: ") for line in problems(settings()))


@pytest.mark.fast
def test_derived_names_of_different_tenants_collide() -> None:
    write_tenant(TENANTS, "ab-cd", "services:\n  - name: ef\n")
    write_tenant(TENANTS, "ab", "environments: [dev, test]\nservices:\n  - name: cd-ef\n")

    # GitHub repository `ab-cd-ef` and Application `ab-cd-ef-<env>` for each environment both run in. The ECR
    # repositories (`ab-cd/ef` and `ab/cd-ef`) keep the `/` between tenant and service, so they do not collide.
    owners = (
        "of tenant 'ab', service 'cd-ef' collides with the one of tenant 'ab-cd', service 'ef' (tenants/ab-cd.yaml)"
    )
    assert problems() == [
        f"tenants/ab.yaml:11:13: spec.services[0].name: Argo CD Application 'ab-cd-ef-dev' {owners}",
        f"tenants/ab.yaml:11:13: spec.services[0].name: Argo CD Application 'ab-cd-ef-test' {owners}",
        f"tenants/ab.yaml:11:13: spec.services[0].name: GitHub repository 'ab-cd-ef' {owners}",
    ]


@pytest.mark.fast
def test_derived_names_collide_even_when_the_environments_do_not_overlap() -> None:
    write_tenant(TENANTS, "ab-cd", "environments: [prod]\nservices:\n  - name: ef\n")
    write_tenant(TENANTS, "ab", "environments: [dev]\nservices:\n  - name: cd-ef\n")

    assert problems() == [
        "tenants/ab.yaml:11:13: spec.services[0].name: GitHub repository 'ab-cd-ef' of tenant 'ab', service 'cd-ef'"
        " collides with the one of tenant 'ab-cd', service 'ef' (tenants/ab-cd.yaml)"
    ]


@pytest.mark.parametrize(
    ("values", "namespace"),
    [
        ({"platformNamespaces": ["ingress-nginx", "team-dev"]}, "team-dev"),
        ({"observability": {"namespace": "team-test"}}, "team-test"),
        ({"argocdNamespace": "team-prod"}, "team-prod"),
    ],
)
@pytest.mark.fast
def test_a_tenant_namespace_may_not_be_a_platform_namespace(values: dict[str, object], namespace: str) -> None:
    write_tenant(TENANTS, "team")

    assert problems(settings(**values)) == [
        f"tenants/team.yaml:4:9: metadata.name: namespace '{namespace}' is a platform namespace"
    ]
    assert problems() == []


@pytest.mark.fast
def test_a_platform_namespace_only_matters_for_the_environments_the_tenant_uses() -> None:
    write_tenant(TENANTS, "team", "environments: [prod]\n")

    assert problems(settings(platformNamespaces=["team-dev"])) == []


@pytest.mark.fast
def test_allow_from_names_existing_tenants_other_than_itself() -> None:
    write_tenant(TENANTS, "orders")
    write_tenant(TENANTS, "hr", "lifecycle: retired\n")
    write_tenant(TENANTS, "payments", "network:\n  allowFrom: [payments, ghost, orders, ordres, hr]\n")

    assert problems() == [
        "tenants/payments.yaml:10:17: spec.network.allowFrom[0]: must not name the tenant itself, which always "
        "reaches itself",
        "tenants/payments.yaml:10:27: spec.network.allowFrom[1]: must name an existing tenant: there is no tenant "
        "named 'ghost'",
        "tenants/payments.yaml:10:42: spec.network.allowFrom[3]: must name an existing tenant: there is no tenant "
        "named 'ordres'; did you mean 'orders'?",
        "tenants/payments.yaml:10:50: spec.network.allowFrom[4]: must name an active tenant: 'hr' is retired and runs "
        "no service, so nothing of it needs to call this tenant; remove it from allowFrom",
    ]


@pytest.mark.fast
def test_enum_values_get_a_did_you_mean_and_bounds_are_said_in_words() -> None:
    write_tenant(
        TENANTS,
        "payments",
        "size: smal\nenvironments: [dev, production]\n"
        "services:\n  - name: api\n    replicas: {dev: {min: 0, max: 2}}\n",
    )

    assert problems() == [
        "tenants/payments.yaml:9:9: spec.size: must be one of 'small', 'medium' or 'large', got 'smal'; did you mean "
        "'small'?",
        "tenants/payments.yaml:10:23: spec.environments[1]: must be one of 'dev', 'test' or 'prod', got "
        "'production'; did you mean 'prod'?",
        "tenants/payments.yaml:13:29: spec.services[0].replicas.dev.min: must be at least 1, got 0",
    ]


@pytest.mark.parametrize(
    ("tenant_environments", "service_environments", "expected"),
    [
        ("[dev, test]", "[test, prod]", "12:28: spec.services[0].environments[1]: 'prod' is not one of the tenant's "),
        ("[prod, dev]", "[test]", "12:22: spec.services[0].environments[0]: 'test' is not one of the tenant's "),
    ],
)
@pytest.mark.fast
def test_service_environments_are_a_subset_of_the_tenants(
    tenant_environments: str, service_environments: str, expected: str
) -> None:
    spec = f"environments: {tenant_environments}\nservices:\n  - name: sync\n    environments: {service_environments}\n"
    write_tenant(TENANTS, "payments", spec)
    # The tenant's environments are listed in promotion order, whatever order the file uses.
    listed = "(dev, test)" if "test" in tenant_environments else "(dev, prod)"

    assert problems() == [f"tenants/payments.yaml:{expected}environments {listed}"]


@pytest.mark.fast
def test_a_service_is_listed_once() -> None:
    write_tenant(TENANTS, "orders", "services:\n  - name: sync\n  - name: other\n  - name: sync\n")

    assert problems() == ["tenants/orders.yaml:12:13: spec.services[2].name: service 'sync' is listed more than once"]


@pytest.mark.fast
def test_quota_above_quota_max_only_when_settings_are_given() -> None:
    write_tenant(TENANTS, "big", "quota:\n  cpu: 96500m\n  memory: 160Gi\n  pods: 151\n  storage: 1Ti\n")

    assert problems(settings(quotaMax=QUOTA_MAX)) == [
        "tenants/big.yaml:10:10: spec.quota.cpu: 96500m is above this stack's quotaMax of 96",
        "tenants/big.yaml:11:13: spec.quota.memory: 160Gi is above this stack's quotaMax of 128Gi",
        "tenants/big.yaml:12:11: spec.quota.pods: 151 is above this stack's quotaMax of 150",
        "tenants/big.yaml:13:14: spec.quota.storage: 1Ti is above this stack's quotaMax of 200Gi",
    ]
    assert problems() == []


@pytest.mark.fast
def test_quota_equal_to_quota_max_is_allowed() -> None:
    write_tenant(TENANTS, "big", "quota:\n  cpu: 96\n  memory: 131072Mi\n  pods: 150\n  storage: 200Gi\n")

    assert problems(settings(quotaMax=QUOTA_MAX)) == []


@pytest.mark.fast
def test_internal_visibility_only_where_the_stack_says_the_organisation_has_it() -> None:
    write_tenant(TENANTS, "hr", "services:\n  - name: directory\n    visibility: internal\n  - name: payroll\n")

    assert problems(settings()) == [
        "tenants/hr.yaml:11:19: spec.services[0].visibility: internal repositories exist only in an organisation"
        " owned by an enterprise account, and this stack's is not (imaas:githubEnterprise): use private"
    ]
    assert problems(settings(githubEnterprise=True)) == []
    assert problems() == [], "without a stack, the organisation is unknown"
    for stack in ("dev", "prod"):
        assert len(problems(read_stack_file(PROJECT_DIR, stack).settings)) == 1, stack


@pytest.mark.fast
def test_quota_is_checked_against_each_real_stack() -> None:
    write_tenant(TENANTS, "big", 'quota:\n  cpu: "100"\n')

    assert problems(read_stack_file(PROJECT_DIR, "dev").settings) == [
        "tenants/big.yaml:10:10: spec.quota.cpu: 100 is above this stack's quotaMax of 64"
    ]
    assert problems(read_stack_file(PROJECT_DIR, "prod").settings) == []


# --- --base REF: tenants and services never disappear ------------------------------------------------------------


def commit(message: str) -> str:
    git(Path.cwd(), "add", "-A")
    git(Path.cwd(), "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message)
    return git(Path.cwd(), "rev-parse", "HEAD")


@pytest.fixture
def base(in_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A git repository in the temporary folder whose first commit holds three tenants; its commit id."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(in_tmp_path.parent))
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")
    write_tenant(TENANTS, "payments", "services:\n  - name: card-gateway\n")
    write_tenant(TENANTS, "hr")
    git(Path.cwd(), "init", "-q")
    git(Path.cwd(), "config", "user.email", "tests@example.com")
    git(Path.cwd(), "config", "user.name", "Tests")
    return commit("base")


REMOVED_PAYMENTS = (
    "tenants/payments.yaml:1:1: metadata.name: tenant 'payments' was removed;"
    " keep its file and set spec.lifecycle: retired instead"
)


@pytest.mark.slow
def test_unchanged_tenants_have_no_problems_against_the_base(base: str) -> None:
    assert problems(base="HEAD") == []
    assert problems(base=base) == []


@pytest.mark.slow
def test_a_removed_tenant_file_is_an_error(base: str) -> None:
    (TENANTS / "payments.yaml").unlink()

    assert problems(base="HEAD") == [REMOVED_PAYMENTS]


@pytest.mark.slow
def test_the_base_is_the_given_revision_not_the_working_tree(base: str) -> None:
    (TENANTS / "payments.yaml").unlink()
    commit("remove payments")

    assert problems(base="HEAD") == []
    assert problems(base=base) == [REMOVED_PAYMENTS]
    assert problems(base="HEAD~1") == [REMOVED_PAYMENTS]


@pytest.mark.slow
def test_a_renamed_tenant_is_an_error_with_a_hint(base: str) -> None:
    (TENANTS / "hr.yaml").unlink()
    write_tenant(TENANTS, "people")

    assert problems(base="HEAD") == [
        "tenants/hr.yaml:1:1: metadata.name: tenant 'hr' was removed (renamed to 'people'?);"
        " keep its file and set spec.lifecycle: retired instead"
    ]


@pytest.mark.slow
def test_a_removed_service_is_an_error(base: str) -> None:
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n")

    assert problems(base="HEAD") == [
        "tenants/orders.yaml:9:3: spec.services: service 'order-events' was removed;"
        " keep it and set its lifecycle: retired instead"
    ]


@pytest.mark.slow
def test_retiring_instead_of_removing_and_adding_tenants_are_fine(base: str) -> None:
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n    lifecycle: retired\n")
    write_tenant(TENANTS, "payments", "lifecycle: retired\nservices:\n  - name: card-gateway\n")
    write_tenant(TENANTS, "newcomer", "services:\n  - name: first\n")

    assert problems(base="HEAD") == []
    commit("retire order-events and payments")
    assert problems(base="HEAD") == [], "what was retired at the base stays retired"


@pytest.mark.slow
def test_a_retired_service_stays_retired_and_the_refusal_says_what_to_do(base: str) -> None:
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n    lifecycle: retired\n")
    commit("retire order-events")
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")

    assert problems(base="HEAD") == [
        "tenants/orders.yaml:11:13: spec.services[1].name: service 'order-events' is retired at the base and must "
        "stay retired: its branches and CI settings were kept on GitHub, which would refuse to create them again; add "
        "the service under a new name, or ask a platform admin to re-activate it (docs/operators.md, Re-activating a "
        "retired service)"
    ]


RETIRED_ON_ARRIVAL = {
    "a new service": (
        "payments",
        "services:\n  - name: card-gateway\n  - name: refunds\n    lifecycle: retired\n",
        "tenants/payments.yaml:12:18: spec.services[1].lifecycle: service 'refunds' is new, so it cannot start"
        " retired: set its lifecycle: active, or add it once it is needed",
    ),
    "a new tenant": (
        "archive",
        "lifecycle: retired\nservices:\n  - name: old-api\n",
        "tenants/archive.yaml:9:14: spec.lifecycle: tenant 'archive' is new, so it cannot start retired:"
        " set spec.lifecycle: active, or add the file once the tenant needs it",
    ),
    "a new service of a retired tenant": (
        "payments",
        "lifecycle: retired\nservices:\n  - name: card-gateway\n  - name: refunds\n",
        "tenants/payments.yaml:12:13: spec.services[1].name: service 'refunds' is new, and tenant 'payments' is"
        " retired: it gets no new services",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", RETIRED_ON_ARRIVAL)
def test_nothing_new_starts_retired(base: str, case: str) -> None:
    """Retiring what never existed would create it only to archive it (GitHub refuses the edits that follow)."""
    tenant, spec, expected = RETIRED_ON_ARRIVAL[case]
    write_tenant(TENANTS, tenant, spec)

    assert problems(base="HEAD") == [expected]
    assert problems() == [], "without a base there is nothing to compare with"


@pytest.mark.slow
def test_services_of_a_file_broken_at_the_base_may_be_retired(base: str) -> None:
    (TENANTS / "legacy.yaml").write_text("apiVersion: [\n")
    commit("add a broken file")
    write_tenant(TENANTS, "legacy", "services:\n  - name: api\n    lifecycle: retired\n")

    assert problems(base="HEAD") == []


@pytest.mark.slow
def test_a_file_broken_at_the_base_still_counts_as_a_tenant(base: str) -> None:
    (TENANTS / "broken.yaml").write_text("apiVersion: [\n")
    commit("add a broken file")
    (TENANTS / "broken.yaml").unlink()

    assert problems(base="HEAD") == [
        "tenants/broken.yaml:1:1: metadata.name: tenant 'broken' was removed;"
        " keep its file and set spec.lifecycle: retired instead"
    ]


@pytest.mark.slow
def test_an_invalid_base_is_a_usage_error(base: str) -> None:
    with pytest.raises(UsageError):
        check_tenants(TENANTS, None, "no-such-ref")
    with pytest.raises(UsageError):
        check_tenants(TENANTS, None, "HEAD~5")


@pytest.mark.slow
def test_a_base_outside_a_git_repository_is_a_usage_error(in_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(in_tmp_path.parent))
    write_tenant(TENANTS, "orders")

    with pytest.raises(UsageError, match="not a git repository"):
        check_tenants(TENANTS, None, "HEAD")


@pytest.mark.slow
def test_an_invalid_base_is_named_in_the_error(base: str) -> None:
    with pytest.raises(UsageError, match="no-such-ref"):
        check_tenants(TENANTS, None, "no-such-ref")


@pytest.mark.slow
def test_a_removed_yml_file_is_named_as_it_was(base: str) -> None:
    write_tenant(TENANTS, "legacy", suffix=".yml")
    commit("add legacy")
    (TENANTS / "legacy.yml").unlink()

    assert problems(base="HEAD") == [
        "tenants/legacy.yml:1:1: metadata.name: tenant 'legacy' was removed;"
        " keep its file and set spec.lifecycle: retired instead"
    ]


@pytest.mark.fast
def test_naming_a_tenant_whose_file_is_broken_reports_only_the_broken_file() -> None:
    write_tenant(TENANTS, "orders", text="apiVersion: imaas.io/v1alpha1\nkind: [\n")
    write_tenant(TENANTS, "payments", "network: {allowFrom: [orders]}\n")
    assert problems() == [
        "tenants/orders.yaml:3:1: invalid YAML: while parsing a flow node did not find expected node content"
    ]


@pytest.mark.fast
def test_a_service_repository_may_not_take_the_template_repositorys_name() -> None:
    write_tenant(TENANTS, "imaas-service", "services:\n  - name: template\n")
    assert problems() == [
        "tenants/imaas-service.yaml:10:13: spec.services[0].name: GitHub repository 'imaas-service-template' is the "
        "platform's service template"
    ]


@pytest.mark.fast
def test_a_tenant_whose_namespaces_would_start_with_kube_is_refused() -> None:
    write_tenant(TENANTS, "kube")
    assert problems() == [
        f"tenants/kube.yaml:4:9: metadata.name: namespace 'kube-{env}' starts with 'kube-', which Kubernetes keeps"
        for env in ("dev", "prod", "test")  # problems come sorted
    ]


@pytest.mark.fast
def test_an_identity_provider_group_belongs_to_one_tenant() -> None:
    write_tenant(TENANTS, "orders", "access:\n  developers: [integration-devs]\n")
    write_tenant(TENANTS, "payments", "access:\n  viewers: [auditors, integration-devs]\n")
    assert problems() == [
        "tenants/payments.yaml:10:25: spec.access.viewers[1]: group 'integration-devs' is already given access by "
        "tenant 'orders'"
    ]


@pytest.mark.fast
def test_an_identity_provider_group_may_not_be_a_kubernetes_system_group_or_break_argo_cds_policy_csv() -> None:
    write_tenant(TENANTS, "payments", "access:\n  developers: [system:authenticated]\n  viewers: ['a,b']\n")
    assert problems() == [
        "tenants/payments.yaml:10:18: spec.access.developers[0]: may not be a Kubernetes system group (system:...), "
        "found 'system:'",
        "tenants/payments.yaml:11:15: spec.access.viewers[0]: may not hold commas or quotes, which Argo CD's policy "
        "CSV cannot, found ','",
    ]


@pytest.mark.fast
def test_quotas_are_above_zero_and_in_units_kubernetes_enforces() -> None:
    write_tenant(TENANTS, "payments", 'quota: {cpu: "0.0001", memory: "0.5", storage: 0Gi}\n')
    assert problems() == [
        "tenants/payments.yaml:9:16: spec.quota.cpu: must be a whole number of millicores (1m), got 0.0001",
        "tenants/payments.yaml:9:34: spec.quota.memory: must be a whole number of bytes, got 0.5",
        "tenants/payments.yaml:9:50: spec.quota.storage: must be more than 0, got 0Gi",
    ]


@pytest.mark.fast
def test_text_fields_refuse_line_breaks_and_bidirectional_overrides() -> None:
    text = tenant_text("payments", 'services:\n  - name: card-gateway\n    description: "Cards\\nand more"\n')
    TENANTS.mkdir()
    (TENANTS / "payments.yaml").write_text(text.replace("payments-team@", "payments\u202e-team@"), encoding="utf-8")
    assert problems() == [
        "tenants/payments.yaml:5:12: metadata.contact: may not hold control characters, line breaks or bidirectional "
        "marks, found U+202E",
        "tenants/payments.yaml:11:20: spec.services[0].description: may not hold control characters, line breaks or "
        "bidirectional marks, found U+000A",
    ]


@pytest.mark.slow
def test_an_environment_may_not_leave_a_tenant_nor_an_active_service(base: str) -> None:
    write_tenant(
        TENANTS, "orders", "services:\n  - name: order-sync\n    environments: [dev, test]\n  - name: order-events\n"
    )
    write_tenant(TENANTS, "payments", "environments: [dev, prod]\nservices:\n  - name: card-gateway\n")

    assert problems(base="HEAD") == [
        "tenants/orders.yaml:10:13: spec.services[0].name: environment 'prod' was removed from service 'order-sync', "
        "which would delete its Application 'orders-order-sync-prod' and everything it deployed: set the service's "
        "lifecycle: retired first, then change its environments",
        "tenants/payments.yaml:9:3: spec.environments: environment 'test' was removed; namespace 'payments-test' is "
        "protected and would be left without its quota, network policy and roles: keep the environment (a platform "
        "admin decommissions a namespace, docs/operators.md)",
    ]


@pytest.mark.slow
def test_a_retired_service_may_leave_an_environment_once_retired(base: str) -> None:
    retired = "services:\n  - name: order-sync\n    lifecycle: retired\n  - name: order-events\n"
    write_tenant(TENANTS, "orders", retired)
    commit("retire order-sync")
    write_tenant(TENANTS, "orders", retired.replace("retired\n", "retired\n    environments: [dev]\n", 1))

    assert problems(base="HEAD") == []


# --- CI roles within the account's IAM role quota ------------------------------------------------------------------


@pytest.mark.fast
def test_ci_roles_beyond_the_iam_role_quota_are_refused_where_the_stack_owns_them() -> None:
    write_tenant(TENANTS, "aa", "services:\n  - name: one\n  - name: two\n")
    write_tenant(TENANTS, "bb", "services:\n  - name: three\n  - name: old\n    lifecycle: retired\n")
    owning = settings(ownsGlobalResources=True, iamRoleQuota=2)
    message = (
        "the CI roles of this stack's active services (one each) reach 3, more than its iamRoleQuota of 2: raise the "
        "account's IAM role quota and the setting, or shard the tenants"
    )
    assert problems(owning) == [f"tenants/bb.yaml:9:3: spec.services: {message}"]
    # Retired services have no role, a stack that owns no global resources declares none, and the quota can fit.
    assert problems(settings(ownsGlobalResources=True, iamRoleQuota=3)) == []
    assert problems(settings(iamRoleQuota=1)) == []
    assert problems(settings(ownsGlobalResources=True, iamRoleQuota=2, tenantSelector=["aa"])) == []


@pytest.mark.fast
def test_logins_outside_the_organisations_members_are_refused_where_the_stack_lists_them() -> None:
    TENANTS.mkdir()
    (TENANTS / "aa.yaml").write_text(
        tenant_text("aa").replace("maintainers: [alice]", "maintainers: [Alice]\n    members: [mallory]")
    )
    message = (
        "'mallory' is not a member of the GitHub organisation (imaas:githubMembers): an organisation owner invites "
        "people, then the tenant may name them"
    )
    assert problems(settings(githubMembers=["alice", "bob"])) == [
        f"tenants/aa.yaml:9:15: spec.team.members[0]: {message}"
    ]
    assert problems(settings(githubMembers=["alice", "mallory"])) == []  # logins compare without case, as GitHub's
    assert problems(settings()) == []  # a stack that lists no members checks none


@pytest.mark.slow
def test_a_new_environment_of_a_service_starts_from_the_one_below_it(base: str) -> None:
    # At the base, order-sync runs in dev only; order-events in all three.
    write_tenant(
        TENANTS, "orders", "services:\n  - name: order-sync\n    environments: [dev]\n  - name: order-events\n"
    )
    dev_only = commit("order-sync in dev only")
    write_tenant(
        TENANTS, "orders", "services:\n  - name: order-sync\n    environments: [dev, prod]\n  - name: order-events\n"
    )
    assert problems(base=dev_only) == [
        "tenants/orders.yaml:10:13: spec.services[0].name: environment 'prod' of service 'order-sync' would be cut from"
        " dev's head and deployed without review: add 'test' first and promote to it, then add 'prod' (it is cut"
        " from test)"
    ]
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")
    assert problems(base=dev_only) == [
        "tenants/orders.yaml:10:13: spec.services[0].name: environment 'prod' of service 'order-sync' would be cut from"
        " 'test', which the service does not have yet: add 'test' first, promote to it, then add 'prod'"
    ]
    write_tenant(
        TENANTS, "orders", "services:\n  - name: order-sync\n    environments: [dev, test]\n  - name: order-events\n"
    )
    assert problems(base=dev_only) == []  # test is cut from dev: a merge into test needs no review either
    with_test = commit("order-sync in dev and test")
    write_tenant(TENANTS, "orders", "services:\n  - name: order-sync\n  - name: order-events\n")
    assert problems(base=with_test) == []  # prod is cut from test
    # A new service's branches are all cut from the template's content.
    write_tenant(
        TENANTS,
        "orders",
        "services:\n  - name: order-sync\n  - name: order-events\n  - name: new\n    environments: [dev, prod]\n",
    )
    assert problems(base=with_test) == []


# --- names that reach outside the plan, people and groups (issue 27) ------------------------------------------------


@pytest.mark.fast
def test_a_tenant_may_not_take_the_codeowners_team_nor_a_pull_through_prefix() -> None:
    write_tenant(TENANTS, "platform-admins")
    write_tenant(TENANTS, "quay")
    write_tenant(TENANTS, "mirror")
    assert problems() == [
        "tenants/platform-admins.yaml:4:9: metadata.name: 'platform-admins' is reserved: it is the GitHub team that "
        ".github/CODEOWNERS makes owner of this repository, which the tenant's team (named as the tenant) would take "
        "over",
        "tenants/quay.yaml:4:9: metadata.name: 'quay' is reserved: the registry caches public images under the "
        "pull-through prefix 'quay' (imaas:ecrPullThroughPrefixes), which would be the tenant's own registry path",
    ]
    # The stack's own list replaces the default; a prefix of several segments reserves its first.
    assert problems(settings(ecrPullThroughPrefixes=["mirror/docker"])) == [
        "tenants/mirror.yaml:4:9: metadata.name: 'mirror' is reserved: the registry caches public images under the "
        "pull-through prefix 'mirror/docker' (imaas:ecrPullThroughPrefixes), which would be the tenant's own registry "
        "path",
        "tenants/platform-admins.yaml:4:9: metadata.name: 'platform-admins' is reserved: it is the GitHub team that "
        ".github/CODEOWNERS makes owner of this repository, which the tenant's team (named as the tenant) would take "
        "over",
    ]


@pytest.mark.fast
def test_the_codeowners_teams_are_read_from_the_file(in_tmp_path: Path) -> None:
    from imaas.inputs.codeowners import codeowners_teams

    path = in_tmp_path / "CODEOWNERS"
    path.write_text("# @org/commented\n*  @Example-Org/Platform-Admins @someone  # @org/trailing\n/a\\#b @org/ops\n")
    assert codeowners_teams(path) == {"platform-admins", "ops"}
    assert codeowners_teams(in_tmp_path / "absent") == frozenset()


@pytest.mark.fast
def test_a_service_may_not_prefix_its_names_to_the_platforms_objects_in_the_namespace() -> None:
    from imaas.declarations.namespace_objects import reserved_service_names

    assert reserved_service_names() == {
        "argocd": "argocd-deployer",
        "imaas": "imaas-alert-thresholds",
        "imaas-alert": "imaas-alert-thresholds",
        # a service's own objects of the platform: its egress policy, route, certificate and secrets
        "imaas-route": "imaas-route-<service>",
        "imaas-secret": "imaas-secret-<service>",
        "imaas-service": "imaas-service-<service>",
        "imaas-tls": "imaas-tls-<service>",
        "prometheus": "prometheus-tenants",
        "tenant": "tenant-deployer",
    }
    write_tenant(TENANTS, "payments", "services:\n  - name: argocd\n  - name: tenant\n  - name: argocd-ui\n")
    assert problems() == [
        "tenants/payments.yaml:10:13: spec.services[0].name: 'argocd' is reserved: its objects are named 'argocd-...' "
        "in the tenant's namespaces, where the platform's 'argocd-deployer' is",
        "tenants/payments.yaml:11:13: spec.services[1].name: 'tenant' is reserved: its objects are named 'tenant-...' "
        "in the tenant's namespaces, where the platform's 'tenant-deployer' is",
    ]


@pytest.mark.fast
def test_groups_hold_no_wildcards_nor_backslashes() -> None:
    write_tenant(TENANTS, "payments", "access:\n  developers: ['*', 'devs?']\n  viewers: ['auditors\\']\n")
    what = "may not hold wildcards (* or ?) or backslashes, which Argo CD and Grafana read as patterns or escapes"
    assert problems() == [
        f"tenants/payments.yaml:10:18: spec.access.developers[0]: {what}, found '*'",
        f"tenants/payments.yaml:10:23: spec.access.developers[1]: {what}, found '?'",
        f"tenants/payments.yaml:11:15: spec.access.viewers[0]: {what}, found '\\\\'",
    ]


@pytest.mark.fast
def test_people_and_groups_are_bounded() -> None:
    maintainers = ", ".join(f"m{index}" for index in range(11))
    members = ", ".join(f"p{index}" for index in range(101))
    groups = ", ".join(f"g{index}" for index in range(11))
    text = tenant_text("payments", f"access:\n  viewers: [{groups}]\n").replace(
        "maintainers: [alice]", f"maintainers: [{maintainers}]\n    members: [{members}]"
    )
    write_tenant(TENANTS, "payments", text=text)
    assert [line.split(": ", 1)[0] + ": " + line.split(": ", 2)[2] for line in problems()] == [
        "tenants/payments.yaml:8:18: must have at most 10 entries, got 11",
        "tenants/payments.yaml:9:14: must have at most 100 entries, got 101",
        "tenants/payments.yaml:11:14: must have at most 10 entries, got 11",
    ]


@pytest.mark.fast
def test_display_names_and_groups_are_unique_after_case_folding_and_confusable_skeletons() -> None:
    write_tenant(TENANTS, "orders", "access:\n  developers: [integration-devs]\n")
    write_tenant(TENANTS, "payments", 'access:\n  viewers: [Integration-Devs, "integr\u0430tion-devs", auditors]\n')
    (TENANTS / "payments.yaml").write_text(
        (TENANTS / "payments.yaml").read_text().replace("spec:", "  displayName: \u041erders\nspec:"), encoding="utf-8"
    )
    write_tenant(TENANTS, "paym", text=tenant_text("paym").replace("spec:", "  displayName: rn-team\nspec:"))
    write_tenant(TENANTS, "m-team")
    look_alike = "the same after case folding and Unicode's confusable skeletons (UTS #39)"
    assert problems() == [
        f"tenants/paym.yaml:6:16: metadata.displayName: 'rn-team' looks like 'm-team' of tenant 'm-team' "
        f"({look_alike}): choose a name of its own",
        f"tenants/payments.yaml:6:16: metadata.displayName: '\u041erders' looks like 'orders' of tenant 'orders' "
        f"({look_alike}): choose a name of its own",
        f"tenants/payments.yaml:11:15: spec.access.viewers[0]: group 'Integration-Devs' looks like group "
        f"'integration-devs' of tenant 'orders' ({look_alike})",
        f"tenants/payments.yaml:11:33: spec.access.viewers[1]: group 'integr\u0430tion-devs' looks like group "
        f"'integration-devs' of tenant 'orders' ({look_alike})",
    ]


@pytest.mark.fast
def test_a_tenant_may_not_name_the_platform_admins_groups() -> None:
    write_tenant(TENANTS, "payments", "access:\n  viewers: [Platform-Admins]\n")
    grafana = {"grafana": {"adminGroups": ["platform-admins"]}}
    assert problems(settings(observability=grafana)) == [
        "tenants/payments.yaml:10:15: spec.access.viewers[0]: group 'Platform-Admins' looks like group "
        "'platform-admins' of the platform admins (observability.grafana.adminGroups) (the same after case folding "
        "and Unicode's confusable skeletons (UTS #39))"
    ]


@pytest.mark.fast
@pytest.mark.parametrize("output_format", ["text", "github"])
def test_a_file_name_with_a_newline_is_refused_and_printed_inertly(output_format: str) -> None:
    """A pull request's file name is its author's text: `validate` refuses it before reading it, and prints it with
    its line break escaped, so no line of the log is a workflow command the file name wrote."""
    from typer.testing import CliRunner

    from imaas import cli

    write_tenant(TENANTS, "payments")
    (TENANTS / "x\n::error file=README.md::forged.yaml").write_text(tenant_text("x"), encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["validate", "--tenants", "tenants", "--format", output_format])
    assert result.exit_code == 1, result.output
    printed = result.stdout.splitlines()
    assert len(printed) == 1 and "forged" in printed[0]
    assert not any(line.startswith("::error file=README.md") for line in result.output.splitlines())
    if output_format == "text":
        assert printed[0].startswith("tenants/: 'x\\n::error file=README.md::forged.yaml' is not a tenant file name")
    else:
        assert printed[0].startswith("::error file=tenants/::'x\\n::error file=README.md::forged.yaml' is not a")
