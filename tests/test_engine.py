"""The offline engine itself: what it records of a resource's inputs, and what it answers the program with."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

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
