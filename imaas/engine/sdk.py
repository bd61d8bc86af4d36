"""Every place where the offline engine relies on the Pulumi SDK's internals rather than its public API.

They are reached here only, by name, so that an SDK upgrade that moves one fails with a message saying what the
engine needs it for (`missing()`, checked by a test), not with an AttributeError somewhere inside a plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from types import ModuleType
from typing import Any
from unittest import mock

from google.protobuf import struct_pb2
from pulumi.runtime import known_types, rpc
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import resource_pb2, source_pb2

# (module, attribute, what the engine needs it for)
RELIED_ON: list[tuple[ModuleType, str, str]] = [
    (rpc, "_special_sig_key", "to tell SDK-encoded values (secrets, assets) from plain ones in recorded inputs"),
    (rpc, "deserialize_properties", "to decode those SDK-encoded values"),
    (rpc, "_special_secret_sig", "to mark as secret the outputs a provider declares secret, as the engine does"),
    (resource_runtime, "_get_stack_trace", "to skip the per-resource source-position walk no engine reads here"),
    (resource_pb2, "RegisterResourceResponse", "to answer RegisterResource from the request's own protobuf"),
    (source_pb2, "StackTrace", "the empty stack trace given instead of the walk"),
    (rpc, "contains_unknowns", "to replace it by a walk that leaves no reference cycle per call"),
    (known_types, "is_unknown", "in that walk, as the SDK's own test for an unknown value"),
]


class SdkChangedError(RuntimeError):
    """The installed Pulumi SDK lacks something the offline engine relies on."""


def missing() -> list[str]:
    """What the engine relies on that the installed SDK does not have, each with why it is needed."""
    return [
        f"pulumi {version('pulumi')}: {module.__name__}.{name} is gone; the offline engine uses it {why}"
        for module, name, why in RELIED_ON
        if not hasattr(module, name)
    ]


def _require(module: ModuleType, name: str) -> Any:
    try:
        return getattr(module, name)
    except AttributeError:
        raise SdkChangedError("; ".join(missing())) from None


def is_sdk_encoded(struct: struct_pb2.Struct) -> bool:
    return _require(rpc, "_special_sig_key") in struct.fields


def decode_sdk_encoded(struct: struct_pb2.Struct) -> Any:
    return _require(rpc, "deserialize_properties")(struct)


def secret(value: Any) -> dict[str, Any]:
    """`value` as the engine sends a secret output: the SDK then holds it as a secret Output."""
    return {_require(rpc, "_special_sig_key"): _require(rpc, "_special_secret_sig"), "value": value}


def register_response(urn: str, resource_id: str, outputs: struct_pb2.Struct) -> Any:
    return _require(resource_pb2, "RegisterResourceResponse")(urn=urn, id=resource_id, object=outputs)


@contextmanager
def no_source_positions() -> Iterator[None]:
    """The SDK walks the whole Python stack of every resource to give the engine source positions for its
    diagnostics; there is no engine here to read them, and for a program of nested components the walk is an
    eighth of a plan's time."""
    _require(resource_runtime, "_get_stack_trace")
    with mock.patch.object(resource_runtime, "_get_stack_trace", _require(source_pb2, "StackTrace")):
        yield


def _contains_unknowns(value: Any) -> bool:
    """The SDK's `contains_unknowns`, without its recursive closure: each call of the SDK's makes a function that
    refers to itself, a reference cycle only the cycle collector frees, and the engine pauses that collector for the
    length of a plan (imaas/engine/run.py), so every call's cycle stayed: about 30 per resource, 516,196 at 200
    tenants (pulumi 3.272.0, sdk/python/lib/pulumi/runtime/rpc.py). Same answer: a value is looked at before the
    check for one already seen, and a mapping's values are read through its own iteration and indexing."""
    is_unknown = _require(known_types, "is_unknown")
    seen: set[int] = set()
    pending = [value]
    while pending:
        current = pending.pop()
        if is_unknown(current):
            return True
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            pending.extend([current[key] for key in current])
        elif isinstance(current, list):
            pending.extend(current)
    return False


@contextmanager
def acyclic_unknowns_check() -> Iterator[None]:
    """The SDK's check for unknown values replaced by `_contains_unknowns` for the length of a run. The SDK calls it
    through its module (`rpc.contains_unknowns`, also from pulumi.output), so replacing that one name is enough."""
    _require(rpc, "contains_unknowns")
    with mock.patch.object(rpc, "contains_unknowns", _contains_unknowns):
        yield
