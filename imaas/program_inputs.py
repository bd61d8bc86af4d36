"""What the Pulumi program reads before it declares anything: stack settings and tenants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from imaas.errors import InputError, Problem
from imaas.loader import load_tenants
from imaas.settings import StackSettings
from imaas.stack_file import settings_from_config
from imaas.tenant import Tenant

GITHUB_OWNER_KEY = "github:owner"
AWS_REGION_KEY = "aws:region"


@dataclass(frozen=True)
class ProgramInputs:
    settings: StackSettings
    tenants: list[Tenant]
    """Every valid tenant, including those another stack's `tenantSelector` picks."""
    github_owner: str
    aws_region: str


def read_program_inputs(project_dir: Path) -> ProgramInputs:
    """Settings and tenants, or a RunError listing every problem; called before any resource is declared,
    so that a broken file stops the update instead of making Pulumi delete what it failed to load."""
    # The CLI hands config over in PULUMI_CONFIG; mocks and the offline plan set it in the runtime.
    config = {**get_config_env(), **CONFIG.get()}
    stack = pulumi.get_stack()
    try:
        settings = settings_from_config(config, stack)
        missing = [key for key in (GITHUB_OWNER_KEY, AWS_REGION_KEY) if not config.get(key)]
        if missing:
            raise InputError([Problem(f"Pulumi.{stack}.yaml", field=key, message="is required") for key in missing])
        tenants = load_tenants(project_dir / settings.tenants_dir, settings)
    except InputError as err:
        raise pulumi.RunError(f"invalid input, nothing was declared:\n{err}") from err
    return ProgramInputs(settings, tenants, config[GITHUB_OWNER_KEY], config[AWS_REGION_KEY])
