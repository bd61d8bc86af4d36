"""Stack settings read from `Pulumi.<stack>.yaml`, the way the Pulumi CLI hands them to the program."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imaas.inputs.messages import validate_document
from imaas.inputs.problems import InputError, Problem, UsageError
from imaas.inputs.removed_settings import removed_settings
from imaas.inputs.yaml_source import YamlDocument, display_path, read_yaml_file
from imaas.model.settings import CONFIG_NAMESPACE, StackSettings

PROJECT = "imaas"
GITHUB_OWNER_KEY = "github:owner"
AWS_REGION_KEY = "aws:region"
REQUIRED_PROVIDER_KEYS = (GITHUB_OWNER_KEY, AWS_REGION_KEY)
SECRET_PLACEHOLDER = "[secret]"
GRAFANA_OIDC_SECRET_SETTING = "grafanaOidcClientSecret"
SMTP_PASSWORD_SETTING = "alertmanagerSmtpPassword"
ARGOCD_WEBHOOK_SECRET_SETTING = "argocdWebhookSecret"
PROMOTION_GATE_KEY_SETTING = "promotionGatePrivateKey"
OBSERVABILITY_CREDENTIAL_KEY_SETTING = "observabilityCredentialKey"
SECRET_SETTINGS = tuple(
    f"{CONFIG_NAMESPACE}:{key}"
    for key in (
        GRAFANA_OIDC_SECRET_SETTING,
        SMTP_PASSWORD_SETTING,
        OBSERVABILITY_CREDENTIAL_KEY_SETTING,
        PROMOTION_GATE_KEY_SETTING,
        ARGOCD_WEBHOOK_SECRET_SETTING,
    )
)
"""Settings that must be stored encrypted (`pulumi config set --secret`): a plain one would be in the stack file,
in git and in every log that prints the configuration."""


@dataclass(frozen=True)
class StackFile:
    settings: StackSettings
    config: dict[str, str]
    """Every config value as the Pulumi CLI passes it to a program: full key to text, structured values as JSON."""
    secret_keys: list[str]


TENANT_STACK_SEPARATOR = "."


@dataclass(frozen=True)
class StackName:
    """A stack's name (DESIGN section 3): `<cluster>` is the cluster's shared stack, `<cluster>.<tenant>` a tenant's
    stack on that cluster; both read the cluster's settings file, `Pulumi.<cluster>.yaml`."""

    cluster: str
    tenant: str | None = None

    @classmethod
    def parse(cls, stack: str) -> StackName:
        cluster, separator, tenant = stack.partition(TENANT_STACK_SEPARATOR)
        if not cluster or (separator and not tenant):
            raise UsageError(f"--stack {stack}: a stack is <cluster> or <cluster>.<tenant>")
        return cls(cluster, tenant or None)

    @property
    def shared(self) -> bool:
        return self.tenant is None

    @property
    def settings_file(self) -> str:
        """The file the Pulumi CLI is given (`--config-file`) for every stack of the cluster."""
        return f"Pulumi.{self.cluster}.yaml"

    def __str__(self) -> str:
        return self.cluster if self.tenant is None else f"{self.cluster}{TENANT_STACK_SEPARATOR}{self.tenant}"


def tenant_stack(cluster: str, tenant: str) -> str:
    return str(StackName(cluster, tenant))


def stack_file_path(project_dir: Path, stack: str) -> Path:
    """The settings file of `stack`: its cluster's, for a shared or a tenant stack alike."""
    return project_dir / StackName.parse(stack).settings_file


def read_stack_file(project_dir: Path, stack: str) -> StackFile:
    """The settings of `stack`, read from its cluster's settings file (a tenant stack `dev.payments` reads
    `Pulumi.dev.yaml`, as `pulumi --stack dev.payments --config-file Pulumi.dev.yaml` does)."""
    path = stack_file_path(project_dir, stack)
    if not path.is_file():
        raise UsageError(f"{display_path(path)}: no settings for stack '{stack}'")
    document = read_yaml_file(path)
    raw = document.data.get("config") if isinstance(document.data, dict) else None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError([document.problem(("config",), "must be a mapping of config keys")])
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    ours: dict[str, Any] = {}
    for key, value in raw.items():
        full_key = _full_key(key)
        value, secret = _without_secrets(value)
        config[full_key] = value if isinstance(value, str) else json.dumps(value)
        if secret:
            secret_keys.append(full_key)
        namespace, _, name = full_key.partition(":")
        if namespace == CONFIG_NAMESPACE:
            ours[name] = value
    # Positions of `imaas:x` values are re-rooted so that errors point at the key as users write it.
    settings_document = YamlDocument(document.file, ours, field_prefix=f"{CONFIG_NAMESPACE}:")
    for source, target in ((document.values, settings_document.values), (document.keys, settings_document.keys)):
        for where, mark in source.items():
            if len(where) >= 2 and where[0] == "config":
                namespace, _, name = _full_key(str(where[1])).partition(":")
                if namespace == CONFIG_NAMESPACE:
                    target[(name, *where[2:])] = mark
    removed = removed_settings(settings_document)
    if removed:
        raise InputError(removed)
    settings = validate_document(StackSettings, settings_document)
    missing = missing_provider_keys(config, document.file)
    if missing:
        at = document.mark(("config",))
        raise InputError([Problem(p.file, at.line, at.column, p.field, p.message) for p in missing])
    plain = plain_secrets(config, secret_keys.__contains__, document.file)
    if plain:
        raise InputError([settings_document.problem((p.field.partition(":")[2],), p.message) for p in plain])
    return StackFile(settings, config, sorted(secret_keys))


def missing_provider_keys(config: dict[str, str], file: str) -> list[Problem]:
    """The provider settings the program cannot do without: the tenants' GitHub organisation and the AWS region."""
    return [Problem(file, field=key, message="is required") for key in REQUIRED_PROVIDER_KEYS if not config.get(key)]


def plain_secrets(config: dict[str, str], is_secret: Callable[[str], bool], file: str) -> list[Problem]:
    """The settings of SECRET_SETTINGS that are set, but not as secrets."""
    return [
        Problem(file, field=key, message=f"must be a secret: pulumi config set --secret {key.partition(':')[2]}")
        for key in SECRET_SETTINGS
        if key in config and not is_secret(key)
    ]


def _full_key(key: str) -> str:
    # Pulumi reads a key without a namespace as one of the project's.
    return key if ":" in key else f"{PROJECT}:{key}"


def settings_from_config(config: dict[str, str], stack: str) -> StackSettings:
    """Settings from the config the Pulumi engine passed to the program (no positions to report)."""
    ours = {
        key.partition(":")[2]: _decode(value)
        for key, value in config.items()
        if key.partition(":")[0] == CONFIG_NAMESPACE
    }
    document = YamlDocument(StackName.parse(stack).settings_file, ours, field_prefix=f"{CONFIG_NAMESPACE}:")
    removed = removed_settings(document)
    if removed:
        raise InputError(removed)
    return validate_document(StackSettings, document)


def _decode(value: str) -> Any:
    # The engine passes structured values as JSON and plain ones as text; only lists and maps are ours to decode.
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _without_secrets(value: Any) -> tuple[Any, bool]:
    """The value with every `secure:` ciphertext replaced by a placeholder, and whether it had one."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        pairs = {key: _without_secrets(item) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(secret for _, secret in pairs.values())
    if isinstance(value, list):
        items = [_without_secrets(item) for item in value]
        return [item for item, _ in items], any(secret for _, secret in items)
    return value, False
