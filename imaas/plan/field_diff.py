"""What changed inside a resource, field by field, as a reviewer reads it: `~ spec.hard.pods: "20" -> "40"`.

Mappings are compared key by key, lists of the same length item by item, and lists whose length changed by value
(the items added and removed, as a new network peer or a dropped subject). Text holding JSON (IAM policies, an
Actions variable) is compared as the JSON it holds, and text of several lines line by line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["add", "remove", "change"]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MARKS = {"add": "+", "remove": "-", "change": "~"}


@dataclass(frozen=True)
class FieldChange:
    path: str
    kind: Kind
    old: Any = None
    new: Any = None

    def line(self, width: int | None = None) -> str:
        """`~ path: old -> new`, `+ path: new` or `- path: old`, values cut at `width` characters."""
        if self.kind == "change":
            return f"~ {self.path}: {shown(self.old, width)} -> {shown(self.new, width)}"
        value = self.new if self.kind == "add" else self.old
        return f"{MARKS[self.kind]} {self.path}: {shown(value, width)}"


def shown(value: Any, width: int | None = None) -> str:
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def field_changes(old: Any, new: Any, path: str = "") -> Iterator[FieldChange]:
    """Every difference between `old` and `new`, the deepest place each one can be named at."""
    if old == new:
        return
    old, new = _as_json(old), _as_json(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            place = _join(path, key)
            if key not in new:
                yield FieldChange(place, "remove", old=old[key])
            elif key not in old:
                yield FieldChange(place, "add", new=new[key])
            else:
                yield from field_changes(old[key], new[key], place)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from field_changes(before, after, f"{path}[{index}]")
    elif isinstance(old, list) and isinstance(new, list):
        kept = [_key(item) for item in new]
        before = [_key(item) for item in old]
        yield from (
            FieldChange(path, "remove", old=item) for item, key in zip(old, before, strict=True) if key not in kept
        )
        yield from (
            FieldChange(path, "add", new=item) for item, key in zip(new, kept, strict=True) if key not in before
        )
    elif isinstance(old, str) and isinstance(new, str) and "\n" in old + new:
        # A configuration file held as text (Fluent Bit's): the lines that went and came, not two long strings.
        for line in difflib.ndiff(old.splitlines(), new.splitlines()):
            if line[:2] in ("- ", "+ "):
                yield FieldChange(path, "remove" if line[0] == "-" else "add", old=line[2:], new=line[2:])
    else:
        yield FieldChange(path or "(value)", "change", old=old, new=new)


def _join(path: str, key: object) -> str:
    key = str(key)
    part = key if _PLAIN_KEY.match(key) else json.dumps(key)
    if not path:
        return part
    return f"{path}.{part}" if _PLAIN_KEY.match(key) else f"{path}[{part}]"


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def _as_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
