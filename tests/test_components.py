"""The components' conventions: each ComponentResource is named after its type token (spec/types.py says how), and
is constructed with a token of that module, never a string written inline."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from imaas.declarations import types

pytestmark = pytest.mark.fast

COMPONENTS_DIR = Path(__file__).resolve().parent.parent / "components"
MODEL_CLASSES = {"Tenant", "Service"}


def component_classes() -> list[tuple[str, str, ast.expr]]:
    """(file, class name, first argument of its super().__init__ call) of every ComponentResource class."""
    found = []
    for path in sorted(COMPONENTS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            if not any(ast.unparse(base).endswith("ComponentResource") for base in node.bases):
                continue
            calls = [
                call
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "super().__init__"
            ]
            assert len(calls) == 1, f"{path.name}: {node.name} must call super().__init__ once"
            found.append((path.name, node.name, calls[0].args[0]))
    return found


def expected_class_name(token: str) -> str:
    _, module, type_name = token.split(":")
    name = type_name if module == "index" else f"{module.capitalize()}{type_name}"
    return f"{name}Resources" if name in MODEL_CLASSES else name


def test_there_are_components_to_check() -> None:
    assert len(component_classes()) >= 8


@pytest.mark.parametrize(("file", "name", "token"), component_classes(), ids=lambda value: getattr(value, "id", value))
def test_a_component_is_named_after_its_type_token(file: str, name: str, token: ast.expr) -> None:
    assert isinstance(token, ast.Attribute) and ast.unparse(token.value) == "types", (
        f"{file}: {name} must take its type token from imaas.declarations.types "
        "(tokens are in URNs and must not change)"
    )
    value = getattr(types, token.attr)
    assert value.startswith("imaas:")
    assert name == expected_class_name(value), f"{file}: {name} has token {value}: name it {expected_class_name(value)}"
