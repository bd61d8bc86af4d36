"""The offline engine itself: what it records of a resource's inputs, and what it answers the program with."""

from __future__ import annotations

import gc
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.output import Unknown, contains_unknowns
from pulumi.runtime import rpc

from imaas.engine import sdk
from imaas.engine.mocks import PLACEHOLDER_ACCOUNT
from imaas.engine.run import run_program

PROGRAM = """
import pulumi

# The inputs declare `arn` empty so that the resource has that output, which the provider computes.
source = pulumi.CustomResource(
    "aws:iam/role:Role",
    "source",
    {"name": "ci", "count": 53, "ratio": 0.5, "flag": False, "empty": None, "nested": {"ports": [80, 443.0]},
     "arn": None},
)
pulumi.CustomResource("test:index:Echo", "echo", {"seen": source.name, "arn": source.arn, "port": 8080})
pulumi.CustomResource("test:index:Secretive", "secretive", {"token": pulumi.Output.secret("[secret]")})
"""
CONFIG = {"aws:region": "eu-west-1"}


def _inputs(tmp_path: Path) -> dict[str, dict]:
    (tmp_path / "__main__.py").write_text(PROGRAM)
    plan = run_program(tmp_path, "dev", CONFIG, [])
    return {resource.name: resource.inputs for resource in plan.resources}


@pytest.mark.slow
def test_inputs_are_recorded_as_declared_with_whole_numbers_as_ints(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)["source"]
    assert inputs == {
        "name": "ci",
        "count": 53,
        "ratio": 0.5,
        "flag": False,
        "nested": {"ports": [80, 443]},
    }, "the SDK sends no empty inputs"
    assert all(type(port) is int for port in inputs["nested"]["ports"])


@pytest.mark.slow
def test_the_program_reads_its_inputs_back_and_the_computed_outputs(tmp_path: Path) -> None:
    echo = _inputs(tmp_path)["echo"]
    assert echo == {"seen": "ci", "arn": f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/ci", "port": 8080}


@pytest.mark.slow
def test_secret_inputs_stay_marked_secret(tmp_path: Path) -> None:
    token = _inputs(tmp_path)["secretive"]["token"]
    assert token["value"] == "[secret]"
    assert set(token) == {"4dabf18193072939515e22adb298388d", "value"}


@pytest.mark.fast
def test_every_sdk_internal_the_engine_relies_on_is_there() -> None:
    assert sdk.missing() == []


@pytest.mark.fast
def test_an_sdk_upgrade_that_removes_one_says_what_the_engine_needs_it_for(monkeypatch: pytest.MonkeyPatch) -> None:
    module, name, _ = sdk.RELIED_ON[0]
    monkeypatch.delattr(module, name)
    assert sdk.missing() == [
        f"pulumi {version('pulumi')}: pulumi.runtime.rpc._special_sig_key is gone; the offline engine uses it to tell "
        "SDK-encoded values (secrets, assets) from plain ones in recorded inputs"
    ]
    with pytest.raises(sdk.SdkChangedError, match="_special_sig_key is gone"):
        sdk.is_sdk_encoded(struct_pb2.Struct())


class _Args(dict[str, Any]):
    """A mapping with an attribute named like a dict method, as the providers' input types have (pulumi#6000)."""

    values = None  # type: ignore[assignment]


def _unknowns_cases() -> list[Any]:
    unknown = Unknown()
    looped: list[Any] = [1]
    looped.append(looped)
    shared = {"a": [1, 2]}
    return [
        None,
        "text",
        {"a": {"b": [1, {"c": 2}]}},
        {"a": {"b": [1, {"c": unknown}]}},
        [[[]], [unknown]],
        looped,
        [looped, unknown],
        {"x": shared, "y": shared},
        _Args(values={"replicas": 2}),
        _Args(values={"replicas": unknown}),
        unknown,
    ]


@pytest.mark.fast
@pytest.mark.parametrize("value", _unknowns_cases())
def test_the_unknowns_check_answers_as_the_sdks_own(value: Any) -> None:
    expected = rpc.contains_unknowns(value)
    with sdk.acyclic_unknowns_check():
        assert rpc.contains_unknowns(value) is expected
        assert contains_unknowns(value) is expected  # pulumi.output's, which calls rpc's by name


@pytest.mark.fast
def test_the_unknowns_check_leaves_no_garbage_for_the_paused_collector() -> None:
    value = {"a": [{"b": 1}, {"c": [2, 3]}]}
    gc.collect()
    rpc.contains_unknowns(value)
    assert gc.collect() > 0, "the SDK's check no longer makes a reference cycle: the replacement may be dropped"
    with sdk.acyclic_unknowns_check():
        rpc.contains_unknowns(value)
        assert gc.collect() == 0
