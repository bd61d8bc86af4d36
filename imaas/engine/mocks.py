"""The engine's side of a plan: Pulumi's mock resource monitor, answering as a preview would and recording what
the engine would receive for each resource."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from imaas.engine import sdk
from imaas.inputs.stack_file import AWS_REGION_KEY, GITHUB_OWNER_KEY
from imaas.plan.record import PlannedResource

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_PARTITION = "aws"
STACK_TYPE = "pulumi:pulumi:Stack"
PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey"
PLACEHOLDER_PRIVATE_KEY = "[plan placeholder: tls.PrivateKey generates the private key at `pulumi up`, into the state]"
"""What a plan holds where the real private key will be: no key material, and nothing shaped like a key (no PEM
armour) that a secret scanner would take for a leaked one."""


class PlaceholderMocks(Mocks):
    """Answers the provider calls a real preview would make, with plausible values that are clearly not real."""

    def __init__(self, config: dict[str, str]) -> None:
        self.region = config.get(AWS_REGION_KEY, "us-east-1")
        self.owner = config.get(GITHUB_OWNER_KEY, "example-org")

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
        return answers.get(args.token, {}), []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return _resource_id(args.name, args.custom), {**args.inputs, **self.outputs(args.typ, args.inputs, args.name)}

    def outputs(self, type_: str, inputs: dict[str, Any], name: str) -> dict[str, Any]:
        """The provider-computed outputs the program reads, shaped like the real ones."""
        name = inputs.get("name", name)
        account, region = PLACEHOLDER_ACCOUNT, self.region
        if type_ == "aws:ecr/repository:Repository":
            return {
                "arn": f"arn:aws:ecr:{region}:{account}:repository/{name}",
                "repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{name}",
                "registryId": account,
            }
        if type_ == "github:index/repository:Repository":
            # GitHub's numeric id: fixed per name here, so that plans of the same input are the same.
            return {"repoId": zlib.crc32(name.encode()) % 900_000_000 + 100_000_000}
        if type_ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{account}:role/{name}", "name": name}
        if type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return {"arn": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"}
        if type_ == PRIVATE_KEY_TYPE:
            return placeholder_key(name)
        if type_.startswith("aws:"):
            service = type_.split(":")[1].split("/")[0]
            return {"arn": f"arn:aws:{service}:{region}:{account}:{name}"}
        return {}


def placeholder_key(name: str) -> dict[str, Any]:
    """tls.PrivateKey's outputs for an Ed25519 key, shaped like the provider's: a public key that is well-formed
    (its blob is the wire format of ssh-ed25519, 32 bytes fixed per resource name, so that plans of the same input are
    the same) but belongs to no private key anyone has, and placeholders where the private key goes."""
    point = hashlib.sha256(f"imaas plan placeholder {name}".encode()).digest()
    algorithm = b"ssh-ed25519"
    blob = len(algorithm).to_bytes(4, "big") + algorithm + len(point).to_bytes(4, "big") + point
    # SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): the algorithm identifier 1.3.101.112, then the point.
    der = bytes.fromhex("302a300506032b6570032100") + point
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return {
        "algorithm": "ED25519",
        "publicKeyOpenssh": f"ssh-ed25519 {base64.b64encode(blob).decode()}\n",
        "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(der).decode()}\n-----END PUBLIC KEY-----\n",
        "publicKeyFingerprintSha256": "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="),
        "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
        "privateKeyOpenssh": PLACEHOLDER_PRIVATE_KEY,
        "privateKeyPem": PLACEHOLDER_PRIVATE_KEY,
        "privateKeyPemPkcs8": PLACEHOLDER_PRIVATE_KEY,
    }


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
        # The base class turns the inputs into Python, asks the mocks, and serialises the whole answer back, and it
        # keeps every resource's state; at scale that is most of a plan's time and memory. The answer here is the
        # request's own inputs (what a preview echoes) plus the few computed outputs, copied as protobuf.
        if request.type == STACK_TYPE:
            # pulumi's MockMonitor is untyped, and the config's untyped_calls_exclude does not reach a super() call.
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = plain_inputs(request.object)
        answer = struct_pb2.Struct()
        answer.CopyFrom(request.object)
        outputs = self.placeholders.outputs(request.type, inputs, request.name)
        # The engine marks secret the outputs a provider's SDK names (tls.PrivateKey's private key), so must this.
        answer.update(
            {
                key: sdk.secret(value) if key in request.additionalSecretOutputs else value
                for key, value in outputs.items()
            }
        )
        resource = PlannedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=None if request.parent.split("::")[2:3] in ([], [STACK_TYPE]) else request.parent,
            custom=request.custom,
            inputs=inputs,
            protect=request.protect,
            retainOnDelete=request.retainOnDelete,
            dependsOn=sorted(set(request.dependencies)),
        )
        self.recorded.append(resource)
        if self.on_resource:
            self.on_resource(resource)
        return sdk.register_response(urn, _resource_id(request.name, request.custom) or "", answer)


def _resource_id(name: str, custom: bool | None) -> str | None:
    return f"{name}-id" if custom else None


def plain_inputs(struct: struct_pb2.Struct) -> Any:
    """The properties as Python values, with integral numbers as ints: the wire format has only doubles, so a port
    of 53 arrives as 53.0, which is neither what the program declared nor what a manifest should say. Values the
    SDK encodes specially (secrets, assets, resource references) are decoded by the SDK itself."""
    if sdk.is_sdk_encoded(struct):
        return _whole_numbers(sdk.decode_sdk_encoded(struct))
    return {key: _plain_value(value) for key, value in struct.fields.items()}


def _plain_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return plain_inputs(value.struct_value)
    if kind == "list_value":
        return [_plain_value(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    return None


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value
