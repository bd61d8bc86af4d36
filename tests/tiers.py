"""The suite's two tiers, and the guards that keep every test honest about its tier and its tenants.

- `fast`: no plan of the program and no external process; the inner loop (`make test-fast`).
- `slow`: everything else (plans under Pulumi's mocks, kustomize, promtool, actionlint, ...).

Every test carries exactly one of the two markers (on its module, class or function, never two), or the
collection fails. While a `fast` test runs (its fixtures' set-up included), planning or starting a process fails
it, so the marker cannot lie. While any test runs, reading the shipped `tenants/` folder fails it: the tests have
tenant sets of their own, which is why an onboarding pull request cannot turn them red.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

TIERS = ("fast", "slow")
PROJECT_DIR = Path(__file__).resolve().parent.parent
SHIPPED_TENANTS = str(PROJECT_DIR / "tenants")
PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"})
FILE_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


class TierError(Exception):
    """A test did what its tier, or every test, must not do."""


class _Running:
    """The test being run, and whether it is a fast one (read by the audit hook, which cannot be removed)."""

    test: str | None = None
    fast: bool = False
    violations: list[str] = []  # noqa: RUF012 (one shared record, read back after each phase)


def _violation(message: str) -> TierError:
    """Recorded as well as raised: code under test (a command line's error handler) may catch the exception, but
    the test fails all the same (pytest_runtest_makereport)."""
    _Running.violations.append(message)
    return TierError(message)


def tier_of(item: pytest.Item) -> str | None:
    """The tier marker a test carries, or None when it carries none or more than one."""
    marked = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
    return marked.pop() if len(marked) == 1 else None


def _under_shipped_tenants(path: object) -> bool:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or "tenants" not in path:
        return False
    full = os.path.normpath(os.path.join(os.getcwd(), path))
    return full == SHIPPED_TENANTS or full.startswith(SHIPPED_TENANTS + os.sep)


def _runs_imaas_on_shipped_tenants(arguments: Sequence[Any], cwd: object) -> bool:
    """A command line of `imaas validate|plan` without `--tenants`, from the project folder, reads `tenants/`."""
    words = [os.fsdecode(word) if isinstance(word, bytes) else str(word) for word in arguments]
    if "imaas" not in words or "--tenants" in words or not {"validate", "plan"} & set(words):
        return False
    folder = os.path.normpath(os.path.join(os.getcwd(), os.fspath(cwd))) if cwd is not None else os.getcwd()
    return folder == str(PROJECT_DIR)


def _audit(event: str, arguments: tuple[Any, ...]) -> None:
    if _Running.test is None:
        return
    if event in FILE_EVENTS and arguments and _under_shipped_tenants(arguments[0]):
        raise _violation(f"{_Running.test} reads the shipped tenants/ folder ({arguments[0]}); use a fixture set")
    if event not in PROCESS_EVENTS:
        return
    if event == "subprocess.Popen" and _runs_imaas_on_shipped_tenants(arguments[1] or [], arguments[2]):
        raise _violation(f"{_Running.test} runs imaas on the shipped tenants/ folder; pass --tenants")
    if _Running.fast:
        raise _violation(f"{_Running.test} is marked fast but starts a process ({arguments[0]!r}); mark it slow")


def _refuse_planning(*_args: object, **_kwargs: object) -> None:
    raise _violation(f"{_Running.test} is marked fast but plans the program; mark it slow")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fast: no plan and no external process (the inner loop: make test-fast)")
    config.addinivalue_line("markers", "slow: plans the program or runs an external tool")
    sys.addaudithook(_audit)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if tier_of(item) is None]
    if unmarked:
        listed = "\n  ".join(unmarked)
        raise pytest.UsageError(f"{len(unmarked)} tests carry no tier marker or both (fast, slow):\n  {listed}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    import pulumi.runtime

    fast = tier_of(item) == "fast"
    set_mocks = pulumi.runtime.set_mocks
    _Running.test, _Running.fast, _Running.violations = item.nodeid, fast, []
    if fast:
        pulumi.runtime.set_mocks = _refuse_planning  # type: ignore[assignment]
    try:
        return (yield)
    finally:
        _Running.test, _Running.fast = None, False
        pulumi.runtime.set_mocks = set_mocks  # type: ignore[assignment]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.TestReport)
    if _Running.violations and report.passed:
        report.outcome = "failed"
        report.longrepr = "\n".join(_Running.violations)
    _Running.violations = []
    return report
