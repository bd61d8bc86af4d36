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
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2, source_pb2

# (module, attribute, what the engine needs it for)
RELIED_ON: list[tuple[ModuleType, str, str]] = [
    (rpc, "_special_sig_key", "to tell SDK-encoded values (secrets, assets) from plain ones in recorded inputs"),
    (rpc, "deserialize_properties", "to decode those SDK-encoded values"),
    (rpc, "_special_secret_sig", "to mark as secret the outputs a provider declares secret, as the engine does"),
    (resource_runtime, "_get_stack_trace", "to skip the per-resource source-position walk no engine reads here"),
    (resource_pb2, "RegisterResourceResponse", "to answer RegisterResource from the request's own protobuf"),
    (source_pb2, "StackTrace", "the empty stack trace given instead of the walk"),
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
