"""A cluster's every stack planned offline at once (`imaas plan --stack CLUSTER --fleet`): the shared stack and each
tenant stack, in worker processes that each plan several stacks one after another, one plan JSON per stack and the
guardrails applied to each.

Planning the stacks one by one in fresh processes would pay the interpreter's and the SDK's start-up (about a second)
per stack; planning them in one process would hold the SDK's garbage of every stack (issue 25: about 300 objects per
resource, most of them cycles the engine's paused collector keeps until the run ends). A worker collects between two
stacks, so its memory is that of its largest stack, not of the cluster. The tenant files are validated whole once
per worker (imaas/checks/tenants.py caches a folder's validation by its files' state).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import StackFile, read_stack_file
from imaas.inputs.tenant_files import folder_snapshot


@dataclass(frozen=True)
class FleetJob:
    project_dir: Path
    stacks: list[str]
    configs: dict[str, tuple[dict[str, str], list[str]]]
    """Per cluster: the config of its settings file and its secret keys."""
    tenants_dir: Path
    json_dir: Path
    violations_dir: Path | None = None
    """Where to write each stack's guardrail findings too (`<stack>.json`), for `imaas diff --violations`."""


@dataclass
class StackOutcome:
    stack: str
    resources: int = 0
    seconds: float = 0.0
    violations: list[tuple[bool, str]] = field(default_factory=list)
    """(mandatory, line) for each guardrail violation."""
    error: str | None = None


@dataclass
class BatchOutcome:
    stacks: list[StackOutcome]
    peak_rss_mib: float
    cpu_seconds: float
    pid: int


def plan_batch(job: FleetJob) -> BatchOutcome:
    """One worker's share: each stack planned, written and judged, the heap collected between two stacks."""
    from imaas.engine.run import ProgramError, freeze_heap, paused_cycle_collection, run_program
    from imaas.plan.guardrail_check import Context, Findings, check_plan, stack_context, write_findings
    from imaas.plan.report import violation_line

    outcomes = []
    stack_files: dict[str, StackFile] = {}
    contexts: dict[str, Context] = {}
    # What is alive now (the modules, the SDK) is frozen out of every collection: each collection between two stacks
    # then walks that stack's objects alone, not the whole heap again.
    freeze_heap()
    # The folder is read at the first stack, and that reading serves every stack of the batch and its guardrails.
    with folder_snapshot():
        for stack in job.stacks:
            outcome = StackOutcome(stack)
            start = time.perf_counter()
            # No collection until the stack is done (freeze_heap then collects it): a pass meanwhile would walk the
            # tenants of the whole folder too, for nothing to free.
            with paused_cycle_collection():
                try:
                    config, secret_keys = job.configs[stack.partition(".")[0]]
                    plan = run_program(job.project_dir, stack, config, secret_keys)
                    digest = plan.write(job.json_dir / f"{stack}.json", compact=True)
                    cluster = stack.partition(".")[0]
                    if cluster not in stack_files:
                        stack_files[cluster] = read_stack_file(job.project_dir, cluster)
                        contexts[cluster] = stack_context(stack_files[cluster], job.tenants_dir)
                    resources = plan.by_urn()
                    outcome.resources = len(plan.resources)
                    violations = check_plan(plan, stack_files[cluster], job.tenants_dir, contexts[cluster])
                    outcome.violations = [
                        (violation.mandatory, violation_line(violation, resources)) for violation in violations
                    ]
                    if job.violations_dir is not None:
                        write_findings(job.violations_dir / f"{stack}.json", Findings(stack, digest, violations))
                    del plan, resources
                except InputError as error:
                    outcome.error = "\n".join(str(problem) for problem in error.problems)
                except ProgramError as error:
                    outcome.error = str(error)
            outcome.seconds = time.perf_counter() - start
            outcomes.append(outcome)
            # The SDK's cycles of this stack, freed before the next one is planned; what survives (modules the stack
            # imported first) is frozen too.
            freeze_heap()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return BatchOutcome(outcomes, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, os.getpid())


def batches(stacks: list[str], workers: int, per_batch: int) -> list[list[str]]:
    """The stacks in batches of at most `per_batch`, the first (a shared stack, the largest) alone, so that the
    workers end together."""
    if not stacks:
        return []
    head, rest = stacks[:1], stacks[1:]
    size = max(1, min(per_batch, -(-len(rest) // max(1, workers * 4)))) if rest else 1
    return [head, *(rest[index : index + size] for index in range(0, len(rest), size))]


def plan_fleet(job: FleetJob, workers: int, per_batch: int = 50) -> list[BatchOutcome]:
    """Every stack of `job` planned by `workers` processes (forked from this one, the SDK already imported)."""
    import imaas.engine.run
    import imaas.plan.guardrail_check  # noqa: F401 - imported once here, inherited by the forked workers

    if str(job.project_dir) not in sys.path:
        sys.path.insert(0, str(job.project_dir))
    import components.platform  # noqa: F401 - the program's components and the providers' SDKs

    jobs = [replace(job, stacks=chunk) for chunk in batches(job.stacks, workers, per_batch)]
    if workers <= 1 or len(jobs) <= 1:
        # One batch (the judge's few stacks): planned here, without a worker to start.
        return [plan_batch(one) for one in jobs]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(plan_batch, jobs))
