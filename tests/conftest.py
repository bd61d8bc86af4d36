"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as a CI log, so that assertions on their text do not depend on wrapping."""
    from imaas.cli import output

    monkeypatch.setattr(output.out, "width", 200)
