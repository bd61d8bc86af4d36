"""Running the real `__main__.py` under Pulumi's mock engine: no CLI, no credentials, no network."""

from __future__ import annotations

import asyncio
import runpy
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from imaas.plan.record import Plan, PlannedResource
from imaas.program_inputs import OFFLINE_FOCUS
from imaas.stack_file import PROJECT

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_PARTITION = "aws"
STACK_TYPE = "pulumi:pulumi:Stack"


class PlaceholderMocks(Mocks):
    """Answers the provider calls a real preview would make, with plausible values that are clearly not real."""

    def __init__(self, config: dict[str, str]) -> None:
        self.region = config.get("aws:region", "us-east-1")
        self.owner = config.get("github:owner", "example-org")
        self._current = threading.local()

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        account, region = PLACEHOLDER_ACCOUNT, self.region
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": account,
                "arn": f"arn:{PLACEHOLDER_PARTITION}:iam::{account}:role/imaas-plan",
                "userId": "AROAPLACEHOLDER:imaas-plan",
                "id": account,
            },
            "aws:index/getRegion:getRegion": {"name": region, "region": region, "id": region},
            "aws:index/getPartition:getPartition": {
                "partition": PLACEHOLDER_PARTITION,
                "dnsSuffix": "amazonaws.com",
                "id": PLACEHOLDER_PARTITION,
            },
        }
        return answers.get(args.token, {}), None

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self._current.inputs = args.inputs
        resource_id = f"{args.name}-id" if args.custom else None
        return resource_id, {**args.inputs, **self._outputs(args.typ, args.inputs.get("name", args.name))}

    def _outputs(self, type_: str, name: str) -> dict[str, Any]:
        """The provider-computed outputs the program reads, shaped like the real ones."""
        account, region = PLACEHOLDER_ACCOUNT, self.region
        if type_ == "aws:ecr/repository:Repository":
            return {
                "arn": f"arn:aws:ecr:{region}:{account}:repository/{name}",
                "repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{name}",
                "registryId": account,
            }
        if type_ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{account}:role/{name}", "name": name}
        if type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return {"arn": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"}
        if type_.startswith("aws:"):
            service = type_.split(":")[1].split("/")[0]
            return {"arn": f"arn:aws:{service}:{region}:{account}:{name}"}
        return {}

    def last_inputs(self) -> dict[str, Any]:
        """The inputs of the resource this thread registered last."""
        return self._current.inputs


class RecordingMonitor(MockMonitor):
    """The mock resource monitor, also keeping what the engine would receive for each resource."""

    def __init__(self, mocks: PlaceholderMocks, on_resource: Callable[[PlannedResource], None] | None) -> None:
        super().__init__(mocks)
        self.placeholders = mocks
        self.recorded: list[PlannedResource] = []
        self.on_resource = on_resource

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine's URNs qualify a type by its whole parent chain, leaving out the root stack; the mock
        # monitor's keep only the parent's last type. The plan uses the engine's, so they match real state.
        parent_type = parent.split("::")[2] if parent else ""
        qualified = type_ if parent_type in ("", STACK_TYPE) else f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        resource = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=None if request.parent.split("::")[2:3] in ([], [STACK_TYPE]) else request.parent,
            custom=request.custom,
            inputs=_whole_numbers(self.placeholders.last_inputs()),
            protect=request.protect,
            retainOnDelete=request.retainOnDelete,
            dependsOn=sorted(set(request.dependencies)),
        )
        self.recorded.append(resource)
        if self.on_resource:
            self.on_resource(resource)
        return response


def _whole_numbers(value: Any) -> Any:
    """The value with integral floats as ints: the engine's wire format has only doubles, so a port of 53
    arrives as 53.0, which is not what the program declared nor what a manifest should say."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def run_program(
    project_dir: Path,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    on_resource: Callable[[PlannedResource], None] | None = None,
    focus: frozenset[str] | None = None,
) -> Plan:
    """Run `project_dir/__main__.py` for `stack` with `config`; return what it declared, or raise what it raised.

    With `focus`, the program declares only those tenants' resources (and the shared ones): a partial plan."""
    outcome: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        OFFLINE_FOCUS.set(focus)
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
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    resources = sorted(outcome["resources"], key=lambda resource: resource.urn)
    return Plan(PROJECT, stack, resources, sorted(focus) if focus is not None else None)
