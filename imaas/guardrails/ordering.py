"""Guardrails on order: what a real engine must create before something else, which a mock engine never checks.
Across stacks there is no `dependsOn`: what a tenant stack needs of its cluster's shared stack (CRDs, Argo CD, the
published template) comes from the wave before it (imaas/ci/stacks.py), which the shared stack's own plan is held to
declare; these guardrails refuse anything neither the same stack nor that wave provides.

Each is a property of the plan's dependencies (`dependsOn`, followed transitively): a custom resource, or a release
whose chart creates custom resources without installing their CRDs, after the release that installs those CRDs; a
repository generated from the template after the template's default branch and published version; a branch after
the branch it is cut from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from imaas.declarations import charts, types
from imaas.guardrails.framework import Context, Index, Resource
from imaas.model.settings import Addon


def _api_group(resource_type: str) -> str | None:
    """`kubernetes:monitoring.coreos.com/v1:PodMonitor` as `monitoring.coreos.com`; None for the core group."""
    package, _, rest = resource_type.partition(":")
    version = rest.split(":", 1)[0]
    return version.split("/", 1)[0] if package == "kubernetes" and "/" in version else None


def _groups_needed(resource: Resource, charts_by_name: dict[str, charts.Chart]) -> tuple[str, ...]:
    """The API groups whose CRDs must exist before `resource` is created: its own group, or for a Helm release
    the groups of the custom resources its chart creates without installing their CRDs."""
    if resource.type == types.HELM_RELEASE:
        chart = charts_by_name.get(resource.inputs.get("chart") or "")
        return chart.needs_crd_groups if chart else ()
    group = _api_group(resource.type)
    return (group,) if group else ()


def earlier_crd_groups(context: Context) -> frozenset[str]:
    """The custom resource groups a stack may use without installing their CRDs itself: on a tenant stack, those the
    cluster's shared stack installs in the wave before (its settings say which); on any stack, Argo CD's where the
    cluster runs its own, and External Secrets Operator's and cert-manager's where the stack does not install them
    (imaas:preinstalled lists them)."""
    settings = context.settings
    groups: set[str] = set()
    if context.tenant_stack and settings.observability.enabled:
        groups.update(charts.PROMETHEUS_OPERATOR_CRDS.crd_groups)
    # Argo CD, External Secrets Operator and cert-manager: the shared stack's (the wave before a tenant stack) where
    # it installs them; else the cluster's own (imaas:preinstalled says the cluster runs one; preflight checks its
    # CRDs).
    addons: tuple[tuple[charts.Chart, Addon], ...] = (
        (charts.ARGO_CD, "argocd"),
        (charts.EXTERNAL_SECRETS, "externalSecrets"),
        (charts.CERT_MANAGER, "certManager"),
    )
    for chart, addon in addons:
        if context.tenant_stack or not settings.installs(addon):
            groups.update(chart.crd_groups)
    return frozenset(groups)


def custom_resources_after_their_crds(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Each custom resource waits for the release of this stack that installs its CRDs; where none does, an earlier
    wave must (the shared stack's, for a tenant stack) or the cluster have them: never passed for want of a
    release to wait for."""
    charts_by_name = {chart.name: chart for chart in charts.CHARTS}
    custom_groups = {group for chart in charts.CHARTS for group in chart.crd_groups}
    installers: dict[str, list[Resource]] = {}
    for release in index(types.HELM_RELEASE):
        chart = charts_by_name.get(release.inputs.get("chart") or "")
        for group in chart.crd_groups if chart else ():
            installers.setdefault(group, []).append(release)
    earlier = earlier_crd_groups(context)
    for resources in index.by_type.values():
        for resource in resources:
            for group in _groups_needed(resource, charts_by_name):
                if group in custom_groups and group not in installers and group not in earlier:
                    yield resource, f"needs the CRDs of {group}, which neither this stack nor an earlier wave installs"
                for release in installers.get(group, []):
                    if release.urn not in index.waits_for(resource):
                        yield resource, f"does not wait for release {release.name}, which installs the CRDs of {group}"


TEMPLATE_REPOSITORY_VARIABLE = "IMAAS_TEMPLATE_REPOSITORY"


def _content_of(index: Index, repository: str | None) -> list[Resource]:
    """What puts the template's content in place: its default branch, and the publication of its version."""
    branches = [r for r in index(types.GITHUB_BRANCH_DEFAULT) if r.inputs.get("repository") == repository]
    publications = [
        r
        for r in index(types.LOCAL_COMMAND)
        if (r.inputs.get("environment") or {}).get(TEMPLATE_REPOSITORY_VARIABLE) == repository
    ]
    return branches + publications


def generated_after_the_template(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """A repository generated from a template waits for the template's content, declared in the same stack; on a
    tenant stack, the template is the one the cluster owning the shared resources publishes in the wave before:
    `imaas:templateRepository`, on a cluster owning global resources (whose tenant stacks come after every shared
    stack). Any other template is a violation, never passed for want of one in the plan."""
    templates = {
        repository.inputs.get("name"): repository
        for repository in index(types.GITHUB_REPOSITORY)
        if repository.inputs.get("isTemplate")
    }
    content = {name: (template, *_content_of(index, name)) for name, template in templates.items()}
    for repository in index(types.GITHUB_REPOSITORY):
        name = (repository.inputs.get("template") or {}).get("repository")
        if name is None:
            continue
        if name not in content:
            earlier = context.tenant_stack and context.settings.owns_global_resources
            if not earlier or name != context.settings.template_repository:
                yield repository, f"is generated from template {name}, which no stack before it publishes"
            continue
        waits_for = index.waits_for(repository)
        missing = [resource for resource in content[name] if resource.urn not in waits_for]
        if not any(resource.type == types.LOCAL_COMMAND for resource in content[name]):
            yield repository, f"is generated from template {name}, which publishes no version before it"
            continue
        if missing:
            names = sorted(resource.name for resource in missing)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            yield repository, f"is generated from template {name} but does not wait for its content: {shown}"


def branches_after_their_source(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    makers: dict[tuple[object, object], list[Resource]] = defaultdict(list)
    for resource in (*index(types.GITHUB_BRANCH), *index(types.GITHUB_BRANCH_DEFAULT)):
        makers[(resource.inputs.get("repository"), resource.inputs.get("branch"))].append(resource)
    for branch in index(types.GITHUB_BRANCH):
        repository, source = branch.inputs.get("repository"), branch.inputs.get("sourceBranch") or "main"
        if not any(maker.urn in index.waits_for(branch) for maker in makers[(repository, source)]):
            yield branch, f"is cut from {source!r} of {repository}, but waits for nothing that makes that branch"
