"""A reference table of a model's fields, walked recursively: one row per key, nested keys under their parent's
(`a.b`, `a[].b` in a list, `a.<name>.b` in a mapping), with type, default and description."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from imaas.docs.sections import cell

HEADER = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    description: str
    leaf: bool
    """A value of its own, not a mapping of further keys."""

    def markdown(self) -> str:
        return f"| `{self.key}` | {self.type} | {self.default} | {self.description} |"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(arguments[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(argument) for argument in arguments if argument is not type(None))
    if origin is typing.Literal:
        return " \\| ".join(f"`{argument}`" for argument in arguments)
    if origin is list:
        return f"list of {_type_name(arguments[0])}"
    if origin is dict:
        return f"mapping of {_type_name(arguments[0])} to {_type_name(arguments[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    if annotation is Any:
        return "any"
    names = {str: "text", int: "number", float: "number", Decimal: "number", bool: "true/false", SecretStr: "secret"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _container(annotation: Any) -> type | None:
    """list or dict, where the annotation (optional or not) is one."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated or origin in (typing.Union, types.UnionType):
        return next((found for a in typing.get_args(annotation) if (found := _container(a))), None)
    return origin if origin in (list, dict) else None


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return f"`[{', '.join(map(str, value))}]`" if value else ""
    if isinstance(value, dict):
        shown = (str(key) if isinstance(item, BaseModel) else f"{key}: {item}" for key, item in value.items())
        return f"`{', '.join(shown)}`" if value else ""
    if value in (None, PydanticUndefined) or isinstance(value, (BaseModel, SecretStr)):
        return ""
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _default(field: FieldInfo, owner: BaseModel | None, name: str) -> tuple[str, Any]:
    """The default as shown, and as a value (the parent's default, where it has one, says its children's)."""
    if owner is not None:
        value = getattr(owner, name)
    elif field.is_required():
        return "**required**", None
    else:
        value = field.get_default(call_default_factory=True)
    return _shown(value), value


def rows(model: type[BaseModel], prefix: str = "", owner: BaseModel | None = None) -> list[Row]:
    """Every key of `model`, depth first; `owner` is the parent's default, whose values are its keys' defaults."""
    found = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        nested = _nested_model(field.annotation)
        shown, value = _default(field, owner, name)
        description = cell(field.description or "")
        found.append(Row(key, _type_name(field.annotation), shown, description, leaf=nested is None))
        if nested:
            container = _container(field.annotation)
            below = {list: f"{key}[].", dict: f"{key}.<name>."}.get(container, f"{key}.")  # type: ignore[call-overload]
            found += rows(nested, below, value if container is None and isinstance(value, nested) else None)
    return found


def table(found: list[Row]) -> list[str]:
    return [*HEADER, *(row.markdown() for row in found)]


def flattened(instance: BaseModel, prefix: str = "") -> dict[str, str]:
    """Every value of `instance`, nested models walked, by dotted key."""
    values: dict[str, str] = {}
    for name, field in type(instance).model_fields.items():
        key, value = f"{prefix}{field.alias or name}", getattr(instance, name)
        values |= flattened(value, f"{key}.") if isinstance(value, BaseModel) else {key: _shown(value)}
    return values


def built_in_entries(model: type[BaseModel]) -> dict[str, dict[str, BaseModel]]:
    """The keys of `model` whose default is a mapping of named entries (such as sizes), and those entries."""
    found = {}
    for name, field in model.model_fields.items():
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(value, dict) and value and all(isinstance(entry, BaseModel) for entry in value.values()):
            found[field.alias or name] = value
    return found


def entries_table(entries: dict[str, BaseModel]) -> list[str]:
    """One row per entry, one column per (nested) key of its model."""
    rows = {name: flattened(entry) for name, entry in entries.items()}
    keys = list(next(iter(rows.values())))
    return [
        f"| name | {' | '.join(f'`{key}`' for key in keys)} |",
        f"| --- |{' --- |' * len(keys)}",
        *(f"| `{name}` | {' | '.join(values.get(key, '') for key in keys)} |" for name, values in rows.items()),
    ]
