"""IAM policy documents as the platform writes them: one shape for every role's trust and every grant."""

from __future__ import annotations

from typing import Any

STS_AUDIENCE = "sts.amazonaws.com"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def federated_trust(sid: str, provider_arn: str, actions: str | list[str], equals: dict[str, Any]) -> dict[str, Any]:
    """A role's trust: one identity provider's principals, on the conditions `equals` (StringEquals)."""
    return policy(
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": actions,
            "Condition": {"StringEquals": equals},
        }
    )


def grant(sid: str, actions: list[str], resource: str | list[str]) -> dict[str, Any]:
    """A policy allowing `actions` on `resource` only."""
    return policy({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource})
