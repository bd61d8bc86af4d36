"""docs/rules.md: the rules a pull request is judged by (across tenant files, and what a stack's settings must
provide) and the guardrails every plan passes, each from its code: its name, its module, and the first sentence of
its docstring or its description."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imaas.checks.across_files import RULES
from imaas.checks.prerequisites import PREREQUISITES, RUNTIME_PREREQUISITES
from imaas.docs.sections import PROJECT_DIR, cell, whole_file
from imaas.guardrails import GUARDRAILS


def module_path(function: Callable[..., Any]) -> str:
    return Path(sys.modules[function.__module__].__file__ or "").relative_to(PROJECT_DIR).as_posix()


def summary(text: str) -> str:
    """The first sentence of `text`, on one line."""
    words = cell(text)
    end = words.find(". ")
    return words if end < 0 else words[: end + 1]


def _rows(functions: tuple[Callable[..., Any], ...]) -> list[str]:
    return [
        f"| `{function.__name__}` | {summary(function.__doc__ or '')} | `{module_path(function)}` |"
        for function in functions
    ]


def _body() -> list[str]:
    return [
        "## Rules across tenant files",
        "",
        "`imaas validate` runs them on the whole tenants folder; those reading a stack's settings need `--stack`.",
        "",
        "| rule | what it requires | module |",
        "| --- | --- | --- |",
        *_rows(RULES),
        "",
        "## Stack prerequisites",
        "",
        "What a stack's settings must provide for the tenants it hosts.",
        "",
        "| rule | what it requires | module |",
        "| --- | --- | --- |",
        *_rows(PREREQUISITES + RUNTIME_PREREQUISITES),
        "",
        "## Guardrails",
        "",
        "Run on every plan (`imaas plan`) and at preview time (the policy pack in `policy/`); a mandatory one refuses "
        "the plan, an advisory one warns.",
        "",
        "| guardrail | what it requires | kind | module |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{g.name}` | {cell(g.description)} | {'mandatory' if g.mandatory else 'advisory'} "
            f"| `{module_path(g.check)}` |"
            for g in GUARDRAILS
        ),
    ]


RULES_FILE = whole_file(
    PROJECT_DIR / "docs" / "rules.md",
    "Rules and guardrails",
    "imaas/checks/across_files.py, imaas/checks/prerequisites.py and imaas/guardrails/__init__.py",
    _body,
)
