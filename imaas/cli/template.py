"""`imaas template publish|status|sync`: the service template's versions, and bringing services up to date."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import TenantsOption, err, fail, tenants_dir, usage
from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.template_source import TEMPLATE_DIR

if TYPE_CHECKING:
    from imaas.template.git import Hosting
    from imaas.template.sync import ServiceStatus
    from imaas.template.versions import Version

template_app = typer.Typer(
    name="template", no_args_is_help=True, help="The service template's versions and the services' syncs."
)
app.add_typer(template_app)

StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack", metavar="NAME", help="The stack that owns the template (default: the one owning shared resources)."
    ),
]
RepositoriesOption = Annotated[
    Path | None,
    typer.Option(
        "--repositories",
        metavar="DIR",
        help="Use the bare repositories <DIR>/<name>.git instead of GitHub (a dry run on copies; status only).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def _where(stack: str | None, tenants: Path | None) -> tuple[str, str, list[str]]:
    """The GitHub owner, the template repository, and the repositories of every active service."""
    from imaas.checks.tenants import load_tenants
    from imaas.ci.stacks import stack_matrix
    from imaas.declarations import naming
    from imaas.inputs.stack_file import GITHUB_OWNER_KEY, read_stack_file

    name = stack or next(iter(stack_matrix(output.PROJECT_DIR).shared), None)
    if name is None:
        raise UsageError("no stack owns the shared resources: name one with --stack")
    stack_file = read_stack_file(output.PROJECT_DIR, name)
    settings = stack_file.settings
    tenants_list = load_tenants(tenants_dir(tenants, settings.tenants_dir))
    repositories = [
        naming.github_repository(tenant.name, service.name)
        for tenant in tenants_list
        for service in tenant.active_services()
    ]
    return stack_file.config[GITHUB_OWNER_KEY], settings.template_repository, sorted(repositories)


def _hosting(owner: str, repositories: Path | None, token_variable: str | None = None) -> Hosting:
    from imaas.template.git import TOKEN_VARIABLE, FolderHosting, GitHubHosting

    if repositories:
        return FolderHosting(repositories.resolve())
    return GitHubHosting(owner, token_variable or TOKEN_VARIABLE)


@template_app.command()
def publish(
    owner: Annotated[str, typer.Option(envvar="IMAAS_TEMPLATE_OWNER", help="The GitHub organisation.")],
    repository: Annotated[str, typer.Option(envvar="IMAAS_TEMPLATE_REPOSITORY", help="The template repository.")],
    version: Annotated[
        str | None,
        typer.Option(envvar="IMAAS_TEMPLATE_VERSION", help="Refuse unless templates/service is this version."),
    ] = None,
    repositories: RepositoriesOption = None,
) -> None:
    """Publish templates/service as the template repository's newest version: one commit on dev and its tag. Run
    by `pulumi up` (the template's publication resource), pushing with the token in IMAAS_TEMPLATE_TOKEN (minted
    per run for the template repository: contents and workflows). Exit 0 published or already there, 1 failed."""
    from imaas.template.git import PUBLISH_TOKEN_VARIABLE, GitError, Workspace
    from imaas.template.versions import Template, TemplateError

    with tempfile.TemporaryDirectory() as scratch:
        try:
            hosting = _hosting(owner, repositories, PUBLISH_TOKEN_VARIABLE)
            template = Template(Workspace(Path(scratch) / "work.git", hosting), repository)
            published, new = template.publish(output.PROJECT_DIR / TEMPLATE_DIR, version)
        except (GitError, TemplateError) as error:
            err.print(f"[red]error:[/] {error}")
            raise typer.Exit(1) from None
    print(f"{repository}: version {published.short} {'published' if new else 'already published'}: {published.tag}")


def _report(owner: str, repository: str, statuses: list[ServiceStatus], as_json: bool, newest: Version | None) -> None:
    if as_json:
        document = {
            "template": {
                "repository": f"{owner}/{repository}",
                "version": newest.number if newest else None,
                "versionId": newest.id if newest else None,
            },
            "services": [status.as_json() for status in statuses],
        }
        print(json.dumps(document, indent=2))
        return
    print(f"template {owner}/{repository}: version {newest.short if newest else 'none published'}")
    for status in statuses:
        on = status.version.short if status.version else (status.on or "-")[:12]
        pull = f"  #{status.pull_request.number} {status.pull_request.state}" if status.pull_request else ""
        detail = "; ".join(filter(None, [status.action, status.problem]))
        behind = f"{status.behind} behind" if status.state == "behind" else status.state
        print(f"{status.repository}\t{behind}\ton {on}{pull}{'  ' + detail if detail else ''}")


def _run(stack: str | None, tenants: Path | None, repositories: Path | None, as_json: bool, sync: bool) -> None:
    from imaas.template.git import TOKEN_VARIABLE, GitError, Workspace
    from imaas.template.pulls import GitHubPullRequests, PullRequestError
    from imaas.template.sync import ServiceStatus, status_of, sync_service
    from imaas.template.versions import Template

    try:
        owner, repository, services = _where(stack, tenants)
    except InputError as error:
        fail(error.problems)
    except UsageError as error:
        usage(str(error))
    if sync and not os.environ.get(TOKEN_VARIABLE):
        usage(f"{TOKEN_VARIABLE} is not set: the sync pushes branches and opens pull requests with it")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            template = Template(Workspace(Path(scratch) / "work.git", _hosting(owner, repositories)), repository)
        except GitError as error:
            err.print(f"[red]error:[/] template repository {repository}: {error}")
            raise typer.Exit(1) from None
        pulls = GitHubPullRequests(owner) if sync else None
        statuses = []
        for service in services:
            try:
                statuses.append(sync_service(template, service, pulls) if pulls else status_of(template, service))
            except (GitError, PullRequestError) as error:
                statuses.append(ServiceStatus(service, "unknown", problem=str(error)))
        _report(owner, repository, statuses, as_json, template.newest)
    failed = [status for status in statuses if status.problem and status.state != "missing"]
    if failed:
        raise typer.Exit(1)


@template_app.command()
def repositories(stack: StackOption = None, tenants: TenantsOption = None) -> None:
    """The template repository and every active service's, comma-separated: what the sync's token may reach."""
    try:
        _, repository, services = _where(stack, tenants)
    except InputError as error:
        fail(error.problems)
    except UsageError as error:
        usage(str(error))
    print(",".join([repository, *services]))


@template_app.command()
def status(
    stack: StackOption = None,
    tenants: TenantsOption = None,
    repositories: RepositoriesOption = None,
    as_json: JsonOption = False,
) -> None:
    """How far behind the template each active service is. Exit 0, 1 when a service's version is unknown."""
    _run(stack, tenants, repositories, as_json, sync=False)


@template_app.command()
def sync(stack: StackOption = None, tenants: TenantsOption = None, as_json: JsonOption = False) -> None:
    """Open or update one pull request into dev for every service behind the template (token: GITHUB_TOKEN).
    Exit 0, 1 when a service could not be synced (the others are)."""
    _run(stack, tenants, None, as_json, sync=True)
