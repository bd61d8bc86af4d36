"""What the Pulumi program reads before it declares anything: stack settings and tenants."""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, get_config_secret_keys_env, is_config_secret
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from imaas.checks.across_files import Members
from imaas.checks.prerequisites import prerequisite_problems
from imaas.checks.tenants import load_tenants
from imaas.inputs.github_members import MembersUnreadableError, read_organisation_members
from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.stack_file import (
    AWS_REGION_KEY,
    GITHUB_OWNER_KEY,
    StackName,
    missing_provider_keys,
    plain_secrets,
    settings_from_config,
)
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

# Only the offline plan engine sets this, in its own thread: never config or the environment, which a real
# `pulumi up` could pick up and then declare the cluster's tenants in its shared stack.
OFFLINE_WHOLE_CLUSTER: ContextVar[bool] = ContextVar("imaas_offline_whole_cluster", default=False)


@dataclass(frozen=True)
class ProgramInputs:
    settings: StackSettings
    tenants: list[Tenant]
    """Every valid tenant, including those another stack's `tenantSelector` picks."""
    github_owner: str
    aws_region: str
    stack: StackName
    """The shared stack `<cluster>` or a tenant stack `<cluster>.<tenant>`, both with the cluster's settings."""
    whole_cluster: bool = False
    """The layout before tenant stacks (one stack per cluster), which only the offline engine plans."""


GITHUB_TOKEN_KEY = "github:token"
GITHUB_BASE_URL_KEY = "github:baseUrl"


def deploying() -> bool:
    """A real `pulumi up`: neither a preview nor a run under mocks (the offline plan, the tests)."""
    return not pulumi.runtime.is_dry_run() and not isinstance(get_monitor(), MockMonitor)


def organisation_members(settings: StackSettings, config: dict[str, str]) -> Members | None:
    """At `pulumi up` of the stack that declares the tenants' GitHub teams, where the settings list no members
    (imaas:githubMembers): the organisation's members as GitHub lists them now, so that a login outside them stops
    the deploy instead of being invited. Previews and offline plans read nothing (a plan never touches the network)."""
    if settings.github_members is not None or not settings.owns_global_resources or not deploying():
        return None
    owner = config[GITHUB_OWNER_KEY]
    token = config.get(GITHUB_TOKEN_KEY) or os.environ.get("GITHUB_TOKEN")
    logins = read_organisation_members(owner, token, config.get(GITHUB_BASE_URL_KEY))
    return Members(logins, f"'{owner}' (its members as GitHub lists them at this deploy, which invites nobody)")


def read_program_inputs(project_dir: Path) -> ProgramInputs:
    """Settings and tenants, or a RunError listing every problem; called before any resource is declared,
    so that a broken file stops the update instead of making Pulumi delete what it failed to load."""
    # The CLI hands config and its secret keys over in PULUMI_CONFIG(_SECRET_KEYS); mocks and the offline plan set
    # them in the runtime.
    config = {**get_config_env(), **CONFIG.get()}
    secret_keys = {*get_config_secret_keys_env(), *(key for key in config if is_config_secret(key))}
    try:
        stack = StackName.parse(pulumi.get_stack())
        settings = settings_from_config(config, str(stack))
        file = stack.settings_file
        missing = missing_provider_keys(config, file) + plain_secrets(config, secret_keys.__contains__, file)
        if missing:
            raise InputError(missing)
        members = organisation_members(settings, config)
        tenants = load_tenants(project_dir / settings.tenants_dir, settings, members)
        # What the stack's objects need of the cluster, as settings: Argo CD and its repository credential.
        unmet = prerequisite_problems(settings, tenants, file)
        if unmet:
            raise InputError(unmet)
    except InputError as err:
        raise pulumi.RunError(f"invalid input, nothing was declared:\n{err}") from err
    except (MembersUnreadableError, UsageError) as err:
        raise pulumi.RunError(f"nothing was declared: {err}") from err
    return ProgramInputs(
        settings, tenants, config[GITHUB_OWNER_KEY], config[AWS_REGION_KEY], stack, OFFLINE_WHOLE_CLUSTER.get()
    )
