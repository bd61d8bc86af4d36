"""What changed inside a resource, field by field, as a reviewer reads it: `~ spec.hard.pods: "20" -> "40"`.

Mappings are compared key by key. Lists are compared by what names their items, never by position alone, so that
retiring one service and adding another reads as one item removed and one added, never as a rename
(`sourceRepos[1]: a -> b`): items that carry a name are paired by it and compared inside
(`spec.groups[name=x].rules[alert=Down]`): `name` or `metadata.name` (rule groups, subjects, containers), a kustomize
patch's target, a rule's alert or record, an IAM statement's Sid, a LimitRange limit's type. Plain values and records
that hold no list (repository URLs, includes, network peers, destinations) are paired by their whole value, as
added and removed; only records that hold lists and no name (the rules of a NetworkPolicy or a Role) keep their
position, each compared inside. Text holding JSON (IAM policies, an Actions variable) is compared as the JSON it
holds, and text of several lines line by line.
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
# Besides `name`: what else names a record in a list: an alerting or a recording rule, an IAM statement, a
# LimitRange's limits (by the type they apply to).
_NAMING_FIELDS = ("alert", "record", "Sid", "type")


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
    elif isinstance(old, list) and isinstance(new, list):
        yield from _list_changes(old, new, path)
    elif isinstance(old, str) and isinstance(new, str) and "\n" in old + new:
        # A configuration file held as text (Fluent Bit's): the lines that went and came, not two long strings.
        for line in difflib.ndiff(old.splitlines(), new.splitlines()):
            if line[:2] in ("- ", "+ "):
                yield FieldChange(path, "remove" if line[0] == "-" else "add", old=line[2:], new=line[2:])
    else:
        yield FieldChange(path or "(value)", "change", old=old, new=new)


def _list_changes(old: list[Any], new: list[Any], path: str) -> Iterator[FieldChange]:
    """The differences of two lists, paired by what names their items (see the module's docstring)."""
    before, after = _identities(old), _identities(new)
    if before is None or after is None:
        # Records that hold lists (rules) and are named by nothing but their place: compared place by place.
        if len(old) == len(new):
            for index, (item_before, item_after) in enumerate(zip(old, new, strict=True)):
                yield from field_changes(item_before, item_after, f"{path}[{index}]")
            return
        before, after = [_key(item) for item in old], [_key(item) for item in new]
    named = {key: item for key, item in zip(before, old, strict=True)}
    kept = set(after)
    yield from (FieldChange(path, "remove", old=item) for item, key in zip(old, before, strict=True) if key not in kept)
    for item, key in zip(new, after, strict=True):
        if key not in named:
            yield FieldChange(path, "add", new=item)
        elif isinstance(key, tuple):
            yield from field_changes(named[key], item, f"{path}[{key[0]}={key[1]}]")
    if [key for key in before if key in kept] != [key for key in after if key in named]:
        # The same items in another order: said as one change, since an order may matter (a container's args).
        yield FieldChange(path or "(value)", "change", old=old, new=new)


def _identities(items: list[Any]) -> list[Any] | None:
    """What names each item: (field, name) for a named record (see the module's docstring), its whole value for a
    plain value or a record that holds no list; None when an item is named by its place only, or two items share a
    name."""
    keys: list[Any] = []
    for item in items:
        item = _as_json(item)
        if isinstance(item, dict):
            metadata, target = item.get("metadata"), item.get("target")
            name = item.get("name", metadata.get("name") if isinstance(metadata, dict) else None)
            if isinstance(name, str):
                keys.append(("name", name))
            elif isinstance(target, dict) and isinstance(target.get("name"), str):
                # A kustomize patch, named by the object it patches.
                keys.append(("target", f"{target.get('kind', '')}/{target['name']}"))
            elif any(isinstance(item.get(field), str) for field in _NAMING_FIELDS):
                field = next(field for field in _NAMING_FIELDS if isinstance(item.get(field), str))
                keys.append((field, item[field]))
            elif any(isinstance(value, list) for value in item.values()):
                return None
            else:
                keys.append(_key(item))
        elif isinstance(item, list):
            return None
        else:
            keys.append(_key(item))
    return keys if len(set(keys)) == len(keys) else None


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
