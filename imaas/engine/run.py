"""Running the real `__main__.py` under Pulumi's mock engine: no CLI, no credentials, no network."""

from __future__ import annotations

import asyncio
import gc
import runpy
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi

from components.program_inputs import OFFLINE_WHOLE_CLUSTER
from imaas.engine import sdk
from imaas.engine.mocks import PlaceholderMocks, RecordingMonitor
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import PROJECT
from imaas.plan.record import Plan, PlannedResource


class ProgramError(Exception):
    """The program stopped with an error of its own (not invalid input, which is raised as InputError)."""


_heap_frozen = False


def freeze_heap() -> None:
    """Collect, then leave everything alive out of every later collection (`gc.freeze`), for a process that plans
    many stacks one after another and collects between them: each collection then walks one stack's objects."""
    global _heap_frozen
    gc.collect()
    gc.freeze()
    _heap_frozen = True


@contextmanager
def paused_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: nearly all a program declares lives until the run ends, so each pass over
    the growing heap frees next to nothing, and the passes took half of a plan's time at 100 tenants and more. What
    the program drops is still freed at once by reference counting; the rest is collected when the run is over."""
    enabled = gc.isenabled()
    # A caller that froze the heap (the fleet's workers, after their imports) collects each run's garbage itself:
    # unfreezing here would hand its frozen heap back to every collection.
    frozen = _heap_frozen
    gc.disable()
    try:
        yield
    finally:
        # Everything allocated meanwhile is still in the youngest generation, so the next young collection would
        # walk all of it; freezing and unfreezing moves it to the oldest one at no cost, to be collected in turn.
        if not frozen:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def run_program(
    project_dir: Path,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    on_resource: Callable[[PlannedResource], None] | None = None,
    whole_cluster: bool = False,
) -> Plan:
    """Run `project_dir/__main__.py` for `stack` with `config`; return what it declared, or raise what it raised.

    With `whole_cluster`, a shared stack's name plans the layout before tenant stacks: the shared stack and every
    tenant stack of the cluster in one (what the migration moves from)."""
    outcome: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        OFFLINE_WHOLE_CLUSTER.set(whole_cluster)
        try:
            mocks = PlaceholderMocks(config)
            monitor = RecordingMonitor(mocks, on_resource)
            pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, monitor=monitor)
            pulumi.runtime.set_all_config(config, secret_keys)
            pulumi.runtime.test(program)()
            outcome["resources"] = monitor.recorded
        except BaseException as err:  # noqa: BLE001 - handed over to the calling thread
            outcome["error"] = err

    # A new thread starts with an empty context, so each run gets its own Pulumi runtime state and event loop.
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    worker = threading.Thread(target=run, name=f"plan-{stack}")
    with paused_cycle_collection(), sdk.no_source_positions(), sdk.acyclic_unknowns_check():
        worker.start()
        worker.join()
    error = outcome.get("error")
    if isinstance(error, pulumi.RunError):
        # The program refuses invalid input with the problems as the cause, before it declares anything.
        if isinstance(error.__cause__, InputError):
            raise error.__cause__
        raise ProgramError(str(error)) from error
    if error is not None:
        raise error
    resources = sorted(outcome["resources"], key=lambda resource: resource.urn)
    return Plan(PROJECT, stack, resources)
