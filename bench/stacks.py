"""The tenant as the unit of deployment (issue 25), measured: `python bench/stacks.py [--tenants 1000]`.

With generated tenants (bench/bench.py's generator) it reports:

- the shared stack `dev` at 10 tenants and at N: its resources, whether the two plans are the same, and whether it
  names any tenant;
- the judge of a one-tenant pull request as .github/workflows/pull-request-checks.yaml runs it (the tenant
  ownership check, the stacks the changed file touches, validation of the whole folder against main with every
  cluster's limits, a fleet plan of main and one of the merge for those stacks, the three diff reports of each),
  among N tenants and with that tenant alone;
- the fleet plan of the cluster `dev` (its shared stack and N tenant stacks): wall time, CPU seconds (the command
  and its workers) and peak memory per process;
- from those figures, an estimate (not a measurement: no GitHub runner here) of the runner minutes of a platform-wide
  change and of the nightly drift run, with the workflows' batching (runner_minutes).

Each command runs as the workflows run it, in a fresh process of a copy of the project. Figures go to stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Run as a script, its own folder comes first on the path, where `bench` is bench.py rather than the package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(PROJECT_DIR))

from bench.bench import bench_project, generate  # noqa: E402


def run(
    project: Path, *args: str, cwd: Path | None = None, check: bool = True, stdout: bool = False
) -> tuple[float, float, str]:
    """Wall and CPU seconds (with its children) of `python -m imaas ARGS`, and its stderr (its stdout with
    `stdout`); with `check`, a non-zero exit ends the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "imaas", *args],
        cwd=cwd or project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and result.returncode != 0:
        raise SystemExit(f"imaas {' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, result.stdout if stdout else result.stderr


def shared_view(path: Path) -> dict[str, object]:
    plan = json.loads(path.read_text())
    return {r["urn"]: r["inputs"] for r in plan["resources"]}


def shared_stack(project: Path, folders: dict[int, Path], workdir: Path) -> dict[str, object]:
    views, counts = {}, {}
    for count, folder in folders.items():
        out = workdir / f"shared-{count}.json"
        run(project, "plan", "--stack", "dev", "--tenants", str(folder), "--json", str(out))
        counts[count] = len(json.loads(out.read_text())["resources"])
        views[count] = shared_view(out)
    small, large = sorted(views)
    names = [path.stem for path in folders[large].glob("*.yaml")]
    text = json.dumps(views[large])
    named = [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]
    return {"resources": counts, "same": views[small] == views[large], "tenants_named": named}


def judge(
    project: Path, base_tenants: Path, changed: str, workdir: Path, label: str, cached: bool = True
) -> dict[str, float]:
    """The judge's steps for a pull request changing `changed`'s file, with main's tenants `base_tenants`; `cached`:
    with a validation cache shared by its commands, as the workflow runs them."""
    judge_dir = workdir / f"judge-{label}"
    shutil.copytree(base_tenants, judge_dir / "tenants")
    git = ["git", "-C", str(judge_dir)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "tenants"], check=True)
    subprocess.run([*git, "-c", "user.name=b", "-c", "user.email=b@invalid", "commit", "-qm", "main"], check=True)
    path = judge_dir / "tenants" / f"{changed}.yaml"
    tenant = json.loads(path.read_text())
    tenant["spec"]["services"].append({"name": "added"})
    tenant["spec"]["size"] = "medium"
    path.write_text(json.dumps(tenant, indent=1))
    changes = workdir / f"changed-{label}.txt"
    changes.write_text(f"tenants/{changed}.yaml\n")
    tenants = judge_dir / "tenants"
    steps: dict[str, float] = {}

    cpu: dict[str, float] = {}

    def step(name: str, *args: str, cwd: Path | None = None) -> str:
        wall, seconds, stderr = run(project, *args, cwd=cwd)
        steps[name] = steps.get(name, 0.0) + wall
        cpu[name] = cpu.get(name, 0.0) + seconds
        return stderr

    # The tenant ownership check, the judge's first command: no review approves the change (it exits 1, as then).
    reviews = workdir / f"reviews-{label}.json"
    reviews.write_text("[]")
    wall, seconds, _ = run(project, "approvals", "--base-tenants", str(base_tenants), "--head-tenants", str(tenants),
                           "--author", "author", "--reviews", str(reviews), "--head-sha", "0" * 40, "--format",
                           "github", check=False)  # fmt: skip
    steps["approvals"], cpu["approvals"] = wall, seconds
    wall, seconds, matrix = run(project, "stacks", "--format", "json", "--tenants", str(tenants), "--changed-files",
                                str(changes), stdout=True)  # fmt: skip
    steps["stacks"], cpu["stacks"] = wall, seconds
    stacks = json.loads(matrix)["stacks"]
    # One cache folder for the judge's commands, as the workflow passes it: the files parsed once, the folder
    # checked across files once per settings and content (imaas/inputs/tenant_cache.py).
    cache = ["--validation-cache", str(workdir / f"cache-{label}")] if cached else []
    step("validate", "validate", "--tenants", "tenants", "--base", "HEAD", "--stack", "all", *cache, cwd=judge_dir)
    select = [arg for stack in stacks for arg in ("--select", stack)]
    for side, folder in (("head", tenants), ("base", base_tenants)):
        out = workdir / f"{label}-{side}"
        findings = ["--violations-dir", str(workdir / f"{label}-violations")] if side == "head" else []
        step(f"plan {side}", "plan", "--stack", "all", "--fleet", *select, "--tenants", str(folder),
             "--json-dir", str(out), *findings, *cache)  # fmt: skip
    # Each stack's three reports, as the workflow writes them: the whole one (the artifact), the job summary's share
    # and the comment's share, each with the intent read from main's and the merge's tenant files.
    reports = (
        ["--full"],
        ["--full", "--max-chars", str(900000 // len(stacks))],
        ["--max-chars", str(58000 // len(stacks))],
    )
    tenant_folders = ["--base-tenants", str(base_tenants), "--head-tenants", str(tenants)]
    for stack in stacks:
        base, head = workdir / f"{label}-base" / f"{stack}.json", workdir / f"{label}-head" / f"{stack}.json"
        for report in reports:
            findings = workdir / f"{label}-violations" / f"{stack}.json"
            wall, seconds, _ = run(project, "diff", str(base), str(head), "--format", "markdown", *report,
                                   *tenant_folders, "--violations", str(findings), *cache, check=False)  # fmt: skip
            steps["diff"] = steps.get("diff", 0.0) + wall
            cpu["diff"] = cpu.get("diff", 0.0) + seconds
    steps["total"] = sum(steps.values())
    steps["cpu_total"] = sum(cpu.values())
    steps.update({f"cpu {name}": seconds for name, seconds in cpu.items()})
    return steps


def fleet(project: Path, tenants: Path, workdir: Path, workers: int) -> dict[str, float]:
    out = workdir / "fleet"
    wall, cpu, stderr = run(project, "plan", "--stack", "dev", "--fleet", "--tenants", str(tenants), "--json-dir",
                            str(out), "--workers", str(workers))  # fmt: skip
    match = re.search(r"(\d+) stacks of cluster dev planned by \d+ workers? \((\d+) resources, peak (\d+) MiB", stderr)
    assert match, stderr[-2000:]
    return {"stacks": int(match[1]), "resources": int(match[2]), "wall_s": wall, "cpu_s": cpu,
            "peak_worker_mib": float(match[3])}  # fmt: skip


# What a runner spends on one job besides its stacks (checkout, Python and the requirements, the Pulumi CLI, the cloud
# credentials): an assumption, not a measurement, for there is no GitHub runner here.
JOB_SETUP_MINUTES = 1.5
# A real `pulumi preview` (or `up`) per resource, past the program: pulumi/pulumi#7682 (about 1,300 resources in 4
# minutes), as issue 25 cites it; the offline plan measures the program alone.
ENGINE_SECONDS_PER_RESOURCE = 240 / 1300


def runner_minutes(project: Path, tenants: Path, workdir: Path, fleet_figures: dict[str, float]) -> dict[str, object]:
    """An estimate, not a measurement, of the runner minutes of a platform-wide change and of the nightly drift run:
    the workflows' own batching (`imaas stacks`: previews and drift every stack at once, deploys a wave after
    another, in batches of one cluster within 256 jobs), each job billed in whole minutes; per stack, the offline
    plan's measured CPU seconds (cluster dev's, taken for every cluster) and the engine's cost of its resources."""
    _, _, text = run(project, "stacks", "--format", "json", "--tenants", str(tenants), stdout=True)
    matrix = json.loads(text)
    counts = {path.stem: len(json.loads(path.read_text())["resources"]) for path in (workdir / "fleet").glob("*.json")}
    shared = counts.pop("dev")
    per_tenant_stack = sum(counts.values()) / max(1, len(counts))
    program = fleet_figures["cpu_s"] / fleet_figures["stacks"]

    def minutes(jobs: list[dict[str, str]], engine: bool) -> dict[str, float]:
        billed, longest = 0, 0.0
        for job in jobs:
            stacks = job["stacks"].split()
            resources = sum(shared if "." not in stack else per_tenant_stack for stack in stacks)
            seconds = program * len(stacks) + (ENGINE_SECONDS_PER_RESOURCE * resources if engine else 0.0)
            length = JOB_SETUP_MINUTES + seconds / 60
            billed += math.ceil(length)
            longest = max(longest, length)
        return {"jobs": len(jobs), "billed_minutes": billed, "longest_job_minutes": round(longest, 1)}

    deploy_jobs = [job for wave in ("shared", "global", "hosting") for job in matrix["jobs"][wave]]
    return {
        "estimate": "not measured on GitHub: job setup assumed, engine cost per resource from pulumi/pulumi#7682",
        "stacks": len(matrix["stacks"]),
        "resources": {"shared_stack": shared, "per_tenant_stack": round(per_tenant_stack, 1)},
        "program_cpu_s_per_stack": round(program, 2),
        "assumed_job_setup_minutes": JOB_SETUP_MINUTES,
        # A change of code or settings: the judge plans no stack (its tenant files did not change), every stack is
        # previewed, then deployed after the merge.
        "platform_wide_change": {
            "previews": minutes(matrix["all"], engine=True),
            "deploys": minutes(deploy_jobs, engine=True),
            "previews_program_only": minutes(matrix["all"], engine=False),
        },
        "nightly_drift": {
            "previews": minutes(matrix["all"], engine=True),
            "previews_program_only": minutes(matrix["all"], engine=False),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--uncached", action="store_true", help="Also the judge without a validation cache.")
    parser.add_argument("--judge-only", action="store_true", help="Only the judge (no shared stack, no fleet).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        project = bench_project(workdir)
        # Compiled once, as a runner's first command of the job would (the shell here may forbid writing bytecode):
        # else every command of the benchmark compiles the project again, the tenant alone's as much as the others'.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(project / "imaas"), str(project / "components")],
                       check=True)  # fmt: skip
        folders = {}
        for count in (10, args.tenants):
            folders[count] = workdir / f"tenants-{count}"
            folders[count].mkdir()
            generate(folders[count], count)
        figures: dict[str, object] = {"tenants": args.tenants, "cpus": os.cpu_count(), "load": os.getloadavg()}
        if not args.judge_only:
            figures["shared"] = shared_stack(project, folders, workdir)
        many = folders[args.tenants]
        changed = sorted(path.stem for path in many.glob("*.yaml"))[len(list(many.glob("*.yaml"))) // 2]
        alone = workdir / "alone"
        alone.mkdir()
        shutil.copy(many / f"{changed}.yaml", alone / f"{changed}.yaml")
        # The generated tenants name the one before them in allowFrom: the tenant alone names nobody.
        lone = json.loads((alone / f"{changed}.yaml").read_text())
        lone["spec"]["network"]["allowFrom"] = []
        (alone / f"{changed}.yaml").write_text(json.dumps(lone, indent=1))
        figures["judge"] = {"tenant": changed}
        for name, cached in (("", True), ("uncached ", False)) if args.uncached else (("", True),):
            judged = judge(project, many, changed, workdir, f"{name}many".replace(" ", "-"), cached)
            lonely = judge(project, alone, changed, workdir, f"{name}alone".replace(" ", "-"), cached)
            figures["judge"] |= {f"{name}among": judged, f"{name}alone": lonely,
                                 f"{name}ratio": judged["total"] / lonely["total"],
                                 f"{name}cpu_ratio": judged["cpu_total"] / lonely["cpu_total"]}  # fmt: skip
        if not (args.skip_fleet or args.judge_only):
            figures["fleet"] = fleet(project, many, workdir, args.workers)
            figures["runner_minutes"] = runner_minutes(project, many, workdir, figures["fleet"])
        figures["load_after"] = os.getloadavg()
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
