"""Log tenancy (imaas/declarations/log_routing.py), on the plan.

Fluent Bit's configuration is the same whatever the tenants: planning a set and the same set plus one gives the same
release, with as many rules and outputs for one tenant as for many. Each line's tenant is its namespace's
`imaas.io/tenant` label, which the Kubernetes filter reads from the API server, never something in the line: checked
on a model of the pipeline built from Fluent Bit 5.1.1's source (the record the kubernetes filter builds, the record
accessor's choice between equal keys, grep on a missing key, out_loki's tenant).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import write_tenant, write_tenants
from planning import FIXTURE_TENANTS, example_plan, of_type, plan_stack
from tokens import NAMESPACE, RELEASE

from imaas.declarations import log_routing, naming
from imaas.declarations.chart_values import fluent_bit_values
from imaas.declarations.telemetry import PLATFORM_LOG_TENANT, Endpoints
from imaas.plan.record import Plan, PlannedResource

OBSERVABILITY = "observability"
# What the pipeline's configuration holds whatever the tenants: one input, the Kubernetes filter and a grep, one
# output, and no re-tag rule.
CONSTANT_SHAPE = {"INPUT": 1, "FILTER": 2, "Rule": 0, "OUTPUT": 1}
FORGED_LINE = {
    "msg": "hello",
    naming.TENANT_LABEL: "evil",
    "kubernetes": {"namespace_name": "evil-dev"},
    "kubernetes_namespace": {"name": "evil-dev", "labels": {naming.TENANT_LABEL: "evil"}},
}

Section = list[tuple[str, str]]


def sections(config: dict[str, str]) -> list[tuple[str, Section]]:
    """Every `[KIND]` section of the chart's classic-format `config` strings, in order, as (kind, [(key, value)])."""
    found: list[tuple[str, Section]] = []
    for text in config.values():
        for line in text.splitlines():
            if line.startswith("["):
                found.append((line.strip("[]"), []))
            elif line.strip():
                key, _, value = line.strip().partition(" ")
                found[-1][1].append((key, value.strip()))
    return found


def of_kind(config: dict[str, str], kind: str) -> list[Section]:
    return [entries for found, entries in sections(config) if found == kind]


def get(section: Section, key: str) -> str | None:
    values = [value for name, value in section if name.lower() == key.lower()]
    assert len(values) <= 1, f"{key} given twice"
    return values[0] if values else None


def shape(config: dict[str, str]) -> dict[str, int]:
    kinds = [kind for kind, _ in sections(config)]
    rules = [name for _, entries in sections(config) for name, _ in entries if name == "Rule"]
    return {
        "INPUT": kinds.count("INPUT"),
        "FILTER": kinds.count("FILTER"),
        "Rule": len(rules),
        "OUTPUT": kinds.count("OUTPUT"),
    }


# --- a model of the pipeline ---------------------------------------------------------------------------------------

Record = list[tuple[str, Any]]


def kubernetes_filter(filter_: Section, line: dict[str, Any], namespace: dict[str, Any] | None) -> Record:
    """The record plugins/filter_kubernetes/kubernetes.c (pack_map_content) builds from a CRI line whose text is the
    JSON object `line`: the runtime's keys but `log` (Keep_Log Off), the merged line (under Merge_Log_Key, else its
    keys at the top), then `kubernetes`, then `kubernetes_namespace` when the namespace was read (kube_meta.c,
    merge_namespace_meta: its name and, with Namespace_Labels, its labels)."""
    assert get(filter_, "Merge_Log") == "On" and get(filter_, "Keep_Log") == "Off"
    record: Record = [("time", "2026-01-01T00:00:00Z"), ("stream", "stdout"), ("_p", "F")]
    merge_key = get(filter_, "Merge_Log_Key")
    record += [(merge_key, line)] if merge_key else list(line.items())
    record.append(("kubernetes", {"namespace_name": "from-the-file-name", "pod_name": "p", "container_name": "c"}))
    if namespace is not None:
        labels = namespace.get("labels") if get(filter_, "Namespace_Labels") == "On" else None
        record.append(("kubernetes_namespace", {"name": namespace["name"], **({"labels": labels} if labels else {})}))
    return record


def accessor(pattern: str, record: Record) -> Any:
    """A record accessor `$key['sub']...`: of two equal top-level keys, the last (src/flb_ra_key.c, ra_key_val_id
    walks the map from its end)."""
    match = re.fullmatch(r"\$(\w+)((?:\['[^']*'\])*)", pattern)
    assert match, pattern
    found = [value for key, value in record if key == match.group(1)]
    value: Any = found[-1] if found else None
    for sub in re.findall(r"\['([^']*)'\]", match.group(2)):
        value = value.get(sub) if isinstance(value, dict) else None
    return value


def grep(filter_: Section, record: Record) -> bool:
    """plugins/filter_grep: a `Regex KEY REGEX` rule keeps the record only when the key is there and matches
    (flb_ra_regex_match on a missing key is no match)."""
    rules = [value.split(" ", 1) for name, value in filter_ if name == "Regex"]
    assert rules and not [name for name, _ in filter_ if name == "Exclude"]
    for key, regex in rules:
        found = accessor(key, record)
        if not (isinstance(found, str) and re.search(regex, found)):
            return False
    return True


def deliveries(config: dict[str, str], record: Record, tag: str) -> list[str | None]:
    """The Loki tenant each output that matches `tag` sends the record under (out_loki: `tenant_id_key` when the
    record has it, else `tenant_id`; None: no X-Scope-OrgID, which Loki refuses)."""
    sent: list[str | None] = []
    for output in of_kind(config, "OUTPUT"):
        match, match_regex = get(output, "Match"), get(output, "Match_Regex")
        if (match and fnmatch.fnmatchcase(tag, match)) or (match_regex and re.search(match_regex, tag)):
            key = get(output, "tenant_id_key")
            from_record = accessor(key, record) if key else None
            sent.append(from_record if isinstance(from_record, str) else get(output, "tenant_id"))
    return sent


def route(config: dict[str, str], line: dict[str, Any], namespace: dict[str, Any] | None) -> list[str | None]:
    """The tenants a container's line is sent under: [] when it is dropped."""
    filters = of_kind(config, "FILTER")
    assert [get(f, "Name") for f in filters] == ["kubernetes", "grep"], "no filter may move keys or tags"
    [tail] = of_kind(config, "INPUT")
    tag = get(tail, "Tag")
    assert tag is not None and all(get(f, "Match") == tag for f in filters)
    record = kubernetes_filter(filters[0], line, namespace)
    if not grep(filters[1], record):
        return []
    return deliveries(config, record, tag.replace("*", "var.log.containers.p_ns_c-0.log"))


def tenant_namespace(tenant: str) -> dict[str, Any]:
    return {"name": f"{tenant}-dev", "labels": {naming.TENANT_LABEL: tenant, "kubernetes.io/metadata.name": "x"}}


PLATFORM_NAMESPACE = {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}}


def assert_tenancy(config: dict[str, str]) -> None:
    for line in ({"msg": "hello"}, FORGED_LINE):
        # A tenant's line reaches its tenant alone, whatever the line says.
        assert route(config, line, tenant_namespace("orders")) == ["orders"]
        assert route(config, line, tenant_namespace("platformish")) == ["platformish"]
        # A namespace read without the label (the platform's own) is the platform's...
        assert route(config, line, PLATFORM_NAMESPACE) == [PLATFORM_LOG_TENANT]
        # ...but a line whose namespace could not be read is dropped, never filed under the platform's tenant.
        assert route(config, line, None) == []


@pytest.mark.fast
def test_each_line_goes_to_its_namespaces_tenant_and_a_pod_cannot_name_another() -> None:
    assert_tenancy(log_routing.fluent_bit_config(Endpoints(OBSERVABILITY)))


@pytest.mark.fast
def test_the_merged_log_key_is_what_keeps_a_line_of_an_unread_namespace_from_naming_its_tenant() -> None:
    """Merged at the top, a JSON line's keys would come before the filter's: overruled where the namespace was read,
    but the only ones there where it was not."""
    config = log_routing.fluent_bit_config(Endpoints(OBSERVABILITY))
    merged_at_the_top = dict(config, filters=config["filters"].replace("    Merge_Log_Key log_processed\n", ""))
    assert route(merged_at_the_top, FORGED_LINE, tenant_namespace("orders")) == ["orders"]
    assert route(merged_at_the_top, FORGED_LINE, None) == ["evil"]
    assert route(config, FORGED_LINE, None) == []


@pytest.mark.fast
def test_restarts_and_backlogs_keep_their_lines_on_the_node_and_a_new_configuration_is_hot_reloaded() -> None:
    values = fluent_bit_values(Endpoints(OBSERVABILITY))
    config = values["config"]
    [service] = of_kind(config, "SERVICE")
    [tail] = of_kind(config, "INPUT")
    [output] = of_kind(config, "OUTPUT")
    assert get(service, "Hot_Reload") == "On" and values["hotReload"] == {"enabled": True}
    state = log_routing.STATE_DIR
    assert (get(tail, "DB") or "").startswith(f"{state}/") and (get(service, "storage.path") or "").startswith(state)
    assert get(tail, "storage.type") == "filesystem" and get(tail, "storage.pause_on_chunks_overlimit") == "On"
    # No re-tag: rewrite_tag's emitter holds records in memory between the filter and its chunk.
    assert "rewrite_tag" not in config["filters"]
    # out_loki warns of each record without the tenant key: Fluent Bit's own log lines would feed themselves.
    assert get(output, "log_level") == "error"
    [volume] = [v for v in values["daemonSetVolumes"] if v["name"] == log_routing.STATE_VOLUME]
    [mount] = [m for m in values["daemonSetVolumeMounts"] if m["name"] == log_routing.STATE_VOLUME]
    assert volume["hostPath"]["type"] == "DirectoryOrCreate" and mount == {"name": volume["name"], "mountPath": state}


# --- on the plan ---------------------------------------------------------------------------------------------------


def releases(plan: Plan) -> dict[str, PlannedResource]:
    return {resource.name: resource for resource in of_type(plan, RELEASE)}


def fluent_bit(plan: Plan) -> dict[str, Any]:
    return releases(plan)["fluent-bit"].inputs


@pytest.mark.slow
def test_a_tenant_more_changes_nothing_in_fluent_bits_release(stack: str, tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    shutil.copytree(FIXTURE_TENANTS, tenants)
    before = fluent_bit(example_plan(stack))
    write_tenant(tenants, "billing", "services:\n  - name: invoices\n")
    after = fluent_bit(plan_stack(stack, tenants))
    assert json.dumps(after, sort_keys=True).encode() == json.dumps(before, sort_keys=True).encode()


@pytest.mark.slow
def test_fluent_bit_has_as_many_rules_and_outputs_for_one_tenant_as_for_many(tmp_path: Path) -> None:
    one = fluent_bit(plan_stack("dev", write_tenants(tmp_path / "one", ab={})))["values"]["config"]
    many = fluent_bit(plan_stack("dev", write_tenants(tmp_path / "many", **{f"t{i}": {} for i in range(12)})))
    assert shape(one) == shape(many["values"]["config"]) == CONSTANT_SHAPE


@pytest.mark.slow
def test_the_planned_pipeline_files_lines_by_the_label_only_the_platform_sets(stack: str) -> None:
    plan = example_plan(stack)
    assert_tenancy(fluent_bit(plan)["values"]["config"])
    # What the pipeline reads: every tenant namespace labelled with its tenant, and the platform's own namespace not.
    namespaces = {r.name: r.inputs["metadata"].get("labels", {}) for r in of_type(plan, NAMESPACE)}
    tenant_owned = {
        name: labels[naming.TENANT_LABEL] for name, labels in namespaces.items() if naming.TENANT_LABEL in labels
    }
    assert tenant_owned and all(name.rsplit("-", 1)[0] == tenant for name, tenant in tenant_owned.items())
    assert naming.TENANT_LABEL not in namespaces[OBSERVABILITY]
