"""The observability namespace's fence table in docs/isolation.md, as imaas/declarations/fence.py declares it."""

from __future__ import annotations

from imaas.declarations import fence
from imaas.docs.sections import PROJECT_DIR, section


def _name(key: str) -> str:
    if key == fence.EVERY_POD:
        return "every pod"
    return f"`{key}`"


def _port_text(allowance: fence.Allowance) -> str:
    if allowance.target == fence.API:
        return "`network.apiServerPorts`"
    if allowance.target == "mail-relay":
        return "the smarthost's port"
    return ", ".join(f"{port}/{protocol}" for protocol, port in allowance.ports)


def _tables() -> list[str]:
    """The pod groups, the other parties, the allowances."""
    lines = ["", "| pod group | labels selected | read from |", "| --- | --- | --- |"]
    for group in fence.GROUPS:
        labels = ", ".join(f"`{k}={v}`" for k, v in group.labels.items())
        lines.append(f"| `{group.key}` | {labels} | {group.source} |")
    lines += ["", "| party | what it is |", "| --- | --- |"]
    lines += [f"| `{party.key}` | {party.description} |" for party in fence.PARTIES]
    lines += [
        "",
        "| from | to | ports | kind | why | only with | without enforced NetworkPolicies |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a in fence.ALLOWANCES:
        kind = "tenants' data" if a.kind == "data" else "to run"
        when = {
            None: "",
            "alerting": "`alerting`",
            "oidc": "`grafana.oidc`",
            "s3": "`tempo.bucket`",
            "promotion": "`promotion.githubApp`",
        }[a.when]
        lines.append(
            f"| {_name(a.source)} | {_name(a.target)} | {_port_text(a)} | {kind} | {a.why} | {when} | {a.unenforced} |"
        )
    return [*lines, ""]


FENCE = section(PROJECT_DIR / "docs" / "isolation.md", "fence-table", "imaas/declarations/fence.py", _tables)
