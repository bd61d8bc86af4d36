"""A valid starter tenant file, for `imaas new`."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from imaas.checks.across_files import cross_file_problems
from imaas.checks.sharding import shard_problems
from imaas.inputs.problems import InputError
from imaas.inputs.tenant_files import TenantFile, read_tenant_bytes
from imaas.model.names import ENVIRONMENTS
from imaas.model.settings import StackSettings
from imaas.model.tenant import API_VERSION

SCHEMA_FILE = Path("schema") / "tenant.schema.json"
ACCESS_HINT = """\
# Identity-provider groups bound in Kubernetes (developers edit in dev and test, view in prod):
#   access:
#     developers: [{name}-developers]
#     viewers: [{name}-viewers]
"""


@dataclass(frozen=True)
class Starter:
    """What `imaas new` was asked for."""

    name: str
    contact: str
    maintainers: list[str]
    services: list[str]
    environments: list[str] = field(default_factory=lambda: list(ENVIRONMENTS))
    allow_from: list[str] = field(default_factory=list)


def schema_reference(tenants: Path, project_dir: Path) -> str:
    """The modeline's schema, as the editor resolves it from the file's folder: relative within the project (so that
    it holds in every clone), the schema's absolute path for a folder outside it."""
    schema = project_dir.resolve() / SCHEMA_FILE
    folder = tenants.resolve()
    if not folder.is_relative_to(project_dir.resolve()):
        return schema.as_posix()
    return Path(os.path.relpath(schema, folder)).as_posix()


def starter_text(
    starter: Starter, existing: list[TenantFile], schema: str, project_dir: Path, stacks: dict[str, StackSettings]
) -> str:
    """The starter file; raises InputError when it would not be a valid tenant beside `existing`, or one that no
    stack of the project (or more than one) would manage."""
    spec: dict[str, object] = {
        "team": {"maintainers": starter.maintainers},
        "environments": starter.environments,
        "size": "small",
    }
    if starter.allow_from:
        spec["network"] = {"allowFrom": starter.allow_from}
    spec["services"] = [{"name": service} for service in starter.services]
    document = {
        "apiVersion": API_VERSION,
        "kind": "Tenant",
        "metadata": {"name": starter.name, "contact": starter.contact},
        "spec": spec,
    }
    # Dumped, not formatted into a template, so that no argument can add or cut a key.
    text = (
        f"# yaml-language-server: $schema={schema}\n" + _yaml_1_2_text(document) + ACCESS_HINT.format(name=starter.name)
    )
    file = read_tenant_bytes(text.encode(), f"{starter.name}.yaml")
    problems = cross_file_problems([*existing, file], None) + shard_problems(project_dir, stacks, [file])
    problems = [problem for problem in problems if problem.file == file.file]
    if problems:
        raise InputError(problems)
    return text


def _yaml_1_2_text(document: Mapping[str, object]) -> str:
    """The document as YAML 1.2 text, quoting what YAML 1.2 would read as other than text (`'1e3'`, `'0o755'`, a
    GitHub login of digits): PyYAML's YAML 1.1 dumper leaves those bare."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()
