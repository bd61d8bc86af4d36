"""Measure the platform at organisation scale: `python bench/bench.py [--sizes 10 100 1000]`.

For each size it generates that many tenants (one to five services each, mixed environments, some allowFrom) and
reports: `validate` wall time; the wall time and peak memory of a plan of the whole cluster in one process (`plan
--whole-cluster`, the layout before tenant stacks; bench/stacks.py measures the stacks as CI runs them); the resources
declared per tenant and per service, by provider; the program's time per resource against the Pulumi SDK's own
floor (the same number of bare resources registered under the same mocks) and against the same resources replayed
with the program's own inputs; and, at the largest size, one tenant's stack planned among all against that tenant
alone. It prints a table and writes it to bench/results.md.

The program, the floor and the replay each run in a fresh process: run one after another in one process, the later
ones pay for the heap the earlier ones left, which once made the floor look nearly twice as slow as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from imaas.engine.run import run_program  # noqa: E402
from imaas.inputs.stack_file import read_stack_file  # noqa: E402
from imaas.plan.ownership import tenant_of  # noqa: E402
from imaas.plan.record import Plan  # noqa: E402

STACK = "dev"
ENVIRONMENT_MIXES = [["dev", "test", "prod"], ["dev", "test", "prod"], ["dev", "test"], ["dev", "prod"]]
FLOOR_PROGRAM = """
import pulumi

for index in range({count}):
    pulumi.CustomResource("imaas:bench:Bare", f"bare-{{index}}", {{}})
"""
# The same number of resources again, each with the inputs the real program gave it: what the SDK spends on
# serialising real inputs, which no program can avoid, as against what the program itself adds.
REPLAY_PROGRAM = """
import json

import pulumi

for index, resource in enumerate(json.load(open({plan!r}))["resources"]):
    pulumi.CustomResource("imaas:bench:Replay", f"replay-{{index}}", resource["inputs"])
"""
# What the providers' typed classes cost by themselves: one kind with the aliases the Kubernetes SDK adds for old API
# versions (Role) and one without (ServiceAccount), each against a bare resource with the very same inputs.
CLASS_COUNT = 2000
CLASS_PROGRAMS = {
    "Role": (
        """
import pulumi_kubernetes as k8s

for index in range({count}):
    k8s.rbac.v1.Role(
        f"role-{{index}}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="viewer", namespace=f"ns-{{index}}", labels={{"team": "a"}}),
        rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods", "services"], verbs=["get", "list"])],
    )
""",
        """
import pulumi

for index in range({count}):
    pulumi.CustomResource("kubernetes:rbac.authorization.k8s.io/v1:Role", f"role-{{index}}", {{
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {{"name": "viewer", "namespace": f"ns-{{index}}", "labels": {{"team": "a"}}}},
        "rules": [{{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list"]}}],
    }})
""",
    ),
    "ServiceAccount": (
        """
import pulumi_kubernetes as k8s

for index in range({count}):
    k8s.core.v1.ServiceAccount(
        f"account-{{index}}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="deployer", namespace=f"ns-{{index}}", labels={{"team": "a"}}),
        automount_service_account_token=False,
    )
""",
        """
import pulumi

for index in range({count}):
    pulumi.CustomResource("kubernetes:core/v1:ServiceAccount", f"account-{{index}}", {{
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {{"name": "deployer", "namespace": f"ns-{{index}}", "labels": {{"team": "a"}}}},
        "automountServiceAccountToken": False,
    }})
""",
    ),
}


def generate(directory: Path, count: int) -> None:
    """`count` valid tenants; the same ones for the same count."""
    rng = random.Random(count)
    names = [f"t{index:04d}" for index in range(count)]
    for index, name in enumerate(names):
        environments = rng.choice(ENVIRONMENT_MIXES)
        services = [{"name": f"svc{number}"} for number in range(rng.randint(1, 5))]
        callers = [names[index - 1]] if index and rng.random() < 0.2 else []
        spec = {
            "team": {"maintainers": [f"user{index}"]},
            "environments": environments,
            # A small tenant holds three services at their default scaling (validate --stack checks it).
            "size": "small" if len(services) <= 3 else "medium",
            "network": {"allowFrom": callers},
            "services": services,
        }
        tenant = {
            "apiVersion": "imaas.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name, "contact": f"{name}@example.com"},
            "spec": spec,
        }
        (directory / f"{name}.yaml").write_text(json.dumps(tenant, indent=1))


def bench_project(workdir: Path) -> Path:
    """A copy of the project whose dev stack's account may hold the CI roles of a thousand tenants' services (one
    role each: `imaas:iamRoleQuota`, raised to 5,000, the most AWS grants), as an organisation that size would."""
    project = workdir / "project"
    shutil.copytree(
        PROJECT_DIR, project, ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "tests", "bench")
    )
    stack_file = project / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(stack_file.read_text().replace("config:\n", "config:\n  imaas:iamRoleQuota: 5000\n", 1))
    return project


def timed_command(project: Path, *args: str) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of `python -m imaas ARGS` in `project`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "imaas", *args], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"imaas {' '.join(args)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
        )
    return elapsed, usage.ru_maxrss / 1024


def program_seconds(project: Path, tenants: Path | None = None) -> tuple[float, int]:
    """Wall seconds of `project`'s program under the offline engine, in a fresh process, and what it declared."""
    command = [sys.executable, __file__, "--time-program", str(project), *([str(tenants)] if tenants else [])]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result["seconds"], result["resources"]


def snippet_seconds(workdir: Path, name: str, program: str) -> float:
    """Wall seconds of a `program` text run as its own project, like `program_seconds`."""
    project = workdir / name
    project.mkdir()
    (project / "__main__.py").write_text(program)
    return program_seconds(project)[0]


def time_program(project: Path, tenants: Path | None) -> None:
    """The child side of `program_seconds`: run the program once and print the figures as JSON (with the project's
    own stack settings, or this one's for a snippet that has none)."""
    stack_file = read_stack_file(project if (project / f"Pulumi.{STACK}.yaml").exists() else PROJECT_DIR, STACK)
    config = {**stack_file.config, **({"imaas:tenantsDir": str(tenants)} if tenants else {})}
    start = time.perf_counter()
    plan = run_program(project, STACK, config, stack_file.secret_keys)
    print(json.dumps({"seconds": time.perf_counter() - start, "resources": len(plan.resources)}))


def per_owner(plan: Plan, tenants: int) -> tuple[dict[str, float], dict[str, float]]:
    """Resources per tenant and per service, by provider (components count as `component`)."""
    resources = plan.by_urn()
    per_tenant: Counter[str] = Counter()
    per_service: Counter[str] = Counter()
    services = 0
    for resource in plan.resources:
        provider = resource.type.split(":")[0] if resource.custom else "component"
        if resource.type == "imaas:index:Service":
            services += 1
        if tenant_of(resource, resources) is None:
            continue
        chain = resource.urn.split("::")[2]
        (per_service if "imaas:index:Service" in chain else per_tenant)[provider] += 1
    return (
        {provider: count / tenants for provider, count in sorted(per_tenant.items())},
        {provider: count / max(services, 1) for provider, count in sorted(per_service.items())},
    )


def measure(count: int, workdir: Path, project: Path) -> dict[str, object]:
    tenants = workdir / f"tenants-{count}"
    tenants.mkdir()
    generate(tenants, count)
    validate_s, _ = timed_command(project, "validate", "--tenants", str(tenants))
    plan_file = workdir / f"plan-{count}.json"
    plan_s, plan_mib = timed_command(
        project, "plan", "--stack", STACK, "--whole-cluster", "--tenants", str(tenants), "--json", str(plan_file)
    )
    plan = Plan.read(plan_file)
    program_s, resources = program_seconds(project, tenants)
    floor_s = snippet_seconds(workdir, f"floor-{count}", FLOOR_PROGRAM.format(count=resources))
    replay_s = snippet_seconds(workdir, f"replay-{count}", REPLAY_PROGRAM.format(plan=str(plan_file)))
    tenant_mix, service_mix = per_owner(plan, count)
    return {
        "tenants": count,
        "resources": resources,
        "validate_s": validate_s,
        "plan_s": plan_s,
        "plan_peak_mib": plan_mib,
        "program_ms_per_resource": 1000 * program_s / resources,
        "floor_ms_per_resource": 1000 * floor_s / resources,
        "replay_ms_per_resource": 1000 * replay_s / resources,
        "overhead": program_s / floor_s,
        "overhead_same_inputs": program_s / replay_s,
        "per_tenant": tenant_mix,
        "per_service": service_mix,
    }


def incremental(count: int, workdir: Path, project: Path) -> dict[str, float]:
    """The plan of one tenant's stack among `count` tenants against the same stack with that tenant alone."""
    tenants = workdir / f"tenants-{count}"
    lonely = next(
        path
        for path in sorted(tenants.glob("*.yaml"))
        if not json.loads(path.read_text())["spec"]["network"]["allowFrom"]
        and f'"{path.stem}"'
        not in "".join(p.read_text() for p in [path.with_name(f"t{int(path.stem[1:]) + 1:04d}.yaml")] if p.exists())
    )
    alone = workdir / "alone"
    alone.mkdir()
    (alone / lonely.name).write_text(lonely.read_text())
    stack = f"{STACK}.{lonely.stem}"
    only_s, _ = timed_command(project, "plan", "--stack", stack, "--tenants", str(tenants))
    alone_s, _ = timed_command(project, "plan", "--stack", stack, "--tenants", str(alone))
    return {"only_s": only_s, "alone_s": alone_s, "ratio": only_s / alone_s}


def class_costs(workdir: Path) -> dict[str, tuple[float, float]]:
    """Per kind in CLASS_PROGRAMS: ms per resource through the typed class, and bare with the same inputs."""

    def ms_per_resource(name: str, program: str) -> float:
        return 1000 * snippet_seconds(workdir, name, program.format(count=CLASS_COUNT)) / CLASS_COUNT

    return {
        kind: (ms_per_resource(f"class-{kind}-typed", typed), ms_per_resource(f"class-{kind}-bare", bare))
        for kind, (typed, bare) in CLASS_PROGRAMS.items()
    }


def table(rows: list[dict[str, Any]], partial: dict[str, float], classes: dict[str, tuple[float, float]]) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; stack `{STACK}`.",
        "",
        "| tenants | resources | validate (s) | plan (s) | plan peak (MiB) | program ms/resource "
        "| SDK floor, bare ms/resource | SDK floor, same inputs ms/resource | overhead vs bare | vs same inputs |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['tenants']} | {row['resources']} | {row['validate_s']:.2f} | {row['plan_s']:.1f} | "
            f"{row['plan_peak_mib']:.0f} | {row['program_ms_per_resource']:.3f} | {row['floor_ms_per_resource']:.3f} | "
            f"{row['replay_ms_per_resource']:.3f} | {row['overhead']:.2f}x | {row['overhead_same_inputs']:.2f}x |"
        )
    providers = sorted({provider for row in rows for provider in (*row["per_tenant"], *row["per_service"])})
    columns = [(scope, provider) for scope in ("tenant", "service") for provider in providers]
    lines += [
        "",
        "Resources declared, by provider (components count as `component`):",
        "",
        "| tenants | " + " | ".join(f"per {scope}: {provider}" for scope, provider in columns) + " |",
        "| ---: |" + " ---: |" * len(columns),
    ]
    for row in rows:
        figures = [row[f"per_{scope}"].get(provider, 0.0) for scope, provider in columns]
        lines.append(f"| {row['tenants']} | " + " | ".join(f"{figure:.1f}" for figure in figures) + " |")
    lines += [
        "",
        "Per tenant counts what a tenant has besides its services.",
        "",
        f"One tenant's stack planned among {rows[-1]['tenants']} (`plan --stack dev.<tenant>`): "
        f"{partial['only_s']:.1f} s; that tenant alone: {partial['alone_s']:.1f} s ({partial['ratio']:.2f}x).",
    ]
    described = "; ".join(
        f"{kind} {typed:.3f} ms against {bare:.3f} ms ({typed / bare:.2f}x)" for kind, (typed, bare) in classes.items()
    )
    lines += [
        "",
        f"The providers' typed classes by themselves, {CLASS_COUNT} resources each, against bare resources with "
        f"the same inputs: {described}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results.md")
    parser.add_argument("--time-program", nargs="+", type=Path, metavar=("PROJECT", "TENANTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_program:
        time_program(args.time_program[0], args.time_program[1] if len(args.time_program) > 1 else None)
        return
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        project = bench_project(workdir)
        rows = []
        for count in sorted(args.sizes):
            rows.append(measure(count, workdir, project))
            print(f"{count} tenants measured", file=sys.stderr)
        partial = incremental(max(args.sizes), workdir, project)
        classes = class_costs(workdir)
    text = table(rows, partial, classes)
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
