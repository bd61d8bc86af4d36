"""Safe YAML reading that keeps where every value came from.

Tenant files are written by people outside the platform team and read by CI on every pull request,
so reading them must be safe (no object construction, bounded size and alias expansion) and every
error must point at a line and column.

They are read as editors read them: YAML 1.2 and its core schema (ruamel.yaml's parser, the values resolved here).
`on`, `yes` and `2024-01-31` are text, `0755` is the decimal 755 and `0o755` the octal 493, `1e3` is 1000.0, and
only `true`/`false` (`True`, `TRUE`, ...) are booleans. A merge key (`<<: *defaults`), which editors accept, merges
a mapping as YAML's merge type says; a tag outside the core schema (`!!python/...`, `!!timestamp`, `!custom`) is
refused at its line.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import BaseResolver

try:
    from _ruamel_yaml import CParser  # ruamel.yaml.clib: libyaml's parser for ruamel.yaml
except ImportError:  # pragma: no cover
    CParser = None

from imaas.inputs.problems import InputError, Problem

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 100


Location = tuple[str | int, ...]


class Mark(NamedTuple):
    """Where a value is written (a tuple: one is made for every value of every file read)."""

    line: int
    column: int


@dataclass
class YamlDocument:
    """A parsed YAML document with the position of each value and of each mapping key."""

    file: str
    data: Any
    values: dict[Location, Mark] = field(default_factory=dict)
    keys: dict[Location, Mark] = field(default_factory=dict)
    field_prefix: str = ""
    # The text of each plain value YAML read as other than text (`0755` as 755), for messages that say how to quote it.
    written: dict[Location, str] = field(default_factory=dict)

    def mark(self, location: Location, *, key: bool = False) -> Mark:
        """Where `location` is written, or the nearest enclosing value that is written."""
        if key and location in self.keys:
            return self.keys[location]
        for end in range(len(location), -1, -1):
            found = self.values.get(location[:end])
            if found:
                return found
        return Mark(0, 0)

    def problem(self, location: Location, message: str, *, key: bool = False) -> Problem:
        where = self.mark(location, key=key)
        return Problem(self.file, where.line, where.column, self.field_prefix + field_path(location), message)


def field_path(location: Location) -> str:
    """`("spec", "services", 1, "name")` as `spec.services[1].name`."""
    text = ""
    for part in location:
        if isinstance(part, str) and (len(part) > 40 or not part.isprintable()):
            part = shown(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def display_path(path: Path) -> str:
    """The path as a user would type it from the current folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_yaml_file(path: Path, name: str | None = None) -> YamlDocument:
    """Read one YAML file; raise InputError naming the file, line and column of what is wrong."""
    shown = name or display_path(path)
    # A link would read whatever it points at (another file of the runner, /proc/self/environ) and could echo it in
    # an error line: a file a pull request brings must be a file of its own.
    if path.is_symlink():
        raise InputError([Problem(shown, message="is a symbolic link; it must be a file of its own")])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Problem(shown, message=f"file is {size} bytes, more than the {MAX_FILE_BYTES} allowed")])
        raw = path.read_bytes()
    except OSError as err:
        raise InputError([Problem(shown, message=f"cannot read: {err.strerror}")]) from None
    return parse_yaml(raw, shown)


# The YAML 1.2 core schema's plain scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution), and the merge key.
_CORE_SCALARS: list[tuple[str, str, str | list[str]]] = [
    (NULL_TAG := "tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (BOOL_TAG := "tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (INT_TAG := "tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        FLOAT_TAG := "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    (MERGE_TAG := "tag:yaml.org,2002:merge", r"^<<$", "<"),
]
STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


class CoreSchemaResolver(BaseResolver):
    """Plain scalars resolved by the YAML 1.2 core schema only: ruamel.yaml's own 1.2 resolver adds `1_000`,
    `0b101` and timestamps, which the core schema (and so an editor) reads as text."""

    # ruamel.yaml's Python scanner asks which syntax to read: 1.2's, whatever a `%YAML` directive says.
    processing_version = (1, 2)

    def __init__(self, version: Any = None, loader: Any = None, loadumper: Any = None) -> None:
        super().__init__(loadumper=loadumper or loader)


for _tag, _pattern, _first in _CORE_SCALARS:
    CoreSchemaResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


if CParser is not None:

    class _CLoader(CParser, CoreSchemaResolver):  # type: ignore[misc]
        """libyaml's parser and composer (ruamel.yaml.clib) with the core schema's resolution."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            self._parser = self._composer = self
            CoreSchemaResolver.__init__(self, loadumper=self)


def _pure_yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Resolver = CoreSchemaResolver
    return yaml


def _compose(text: str, *, pure: bool = False) -> Node | None:
    """The document's node tree, its values resolved by the core schema. libyaml's C code (ruamel.yaml.clib) is
    about eight times faster than ruamel.yaml's Python parser, but its older libyaml refuses some YAML 1.2 that
    editors accept (a `:` inside a flow value: `[system:masters]`); `pure` reads with the Python parser."""
    node: Node | None = _pure_yaml().compose(text) if pure or CParser is None else _CLoader(text).get_single_node()
    return node


def _events(text: str, *, pure: bool = False) -> Iterator[Any]:
    if pure or CParser is None:
        yield from _pure_yaml().parse(text)
        return
    loader = _CLoader(text)
    while loader.check_event():
        yield loader.get_event()


def _node_tree(text: str, file: str) -> Node | None:
    """The node tree, read by the C parser, or where it refuses the text, by the Python parser, which reads YAML 1.2
    as editors do; libyaml's words where both refuse it (they name the place as precisely). Its expansion is checked
    where aliases could make it larger than its nodes."""
    shallow = _shallow(text)
    try:
        aliases, nodes = (False, 0) if shallow else _check_depth(text, file, pure=False)
        node = _compose(text)
    except (MarkedYAMLError, ReaderError) as refused:
        if CParser is None:
            raise
        try:
            aliases, nodes = (False, 0) if shallow else _check_depth(text, file, pure=True)
            node = _compose(text, pure=True)
        except (MarkedYAMLError, ReaderError, RecursionError):
            raise refused from None
    if node is not None and (aliases or nodes > MAX_NODES):
        _check_expansion(node, file, aliases=aliases)
    return node


def parse_yaml(raw: bytes, file: str) -> YamlDocument:
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([Problem(file, message=f"file is {len(raw)} bytes, more than the {MAX_FILE_BYTES} allowed")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # utf-8-sig counts from after the byte order mark; columns count characters, as YAML's own marks do.
        offset = err.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)
        line = raw.count(b"\n", 0, offset) + 1
        column = len(raw[raw.rfind(b"\n", 0, offset) + 1 : offset].decode("utf-8-sig")) + 1
        raise InputError([Problem(file, line, column, message=f"not UTF-8 text (byte 0x{raw[offset]:02x})")]) from None
    if not text.strip():
        raise InputError([Problem(file, 1, 1, message="file is empty")])
    try:
        node = _node_tree(text, file)
        if node is None:
            raise InputError([Problem(file, 1, 1, message="file holds no YAML document")])
        document = YamlDocument(file, None)
        document.data = _construct(node, (), document)
        return document
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = " ".join(part for part in (err.context, err.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if _indented_with_tab(text, line):
            # libyaml's own words ("found character that cannot start any token") do not say what to do.
            message += "; indent with spaces, not tabs"
        raise InputError([Problem(file, line, column, message=f"invalid YAML: {message}")]) from None
    except ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - text.rfind("\n", 0, err.position)
        raise InputError([Problem(file, line, column, message=f"invalid YAML: {err.reason}")]) from None


def _indented_with_tab(text: str, line: int) -> bool:
    """Whether line `line` (from 1) starts with white space holding a tab, which YAML refuses as indentation."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return False
    current = lines[line - 1]
    return "\t" in current[: len(current) - len(current.lstrip())]


def _shallow(text: str) -> bool:
    """Whether the text can hold neither more than MAX_DEPTH levels, nor an alias, nor more than MAX_NODES values,
    without reading it (a tenant file's usual case, where _check_depth's pass over its events is spared): every
    collection but the outermost is opened by an indicator of its own (its key's `:`, its item's `-`, an explicit
    key's `?`, its own `[` or `{`), so there are at most one more levels than those characters; no alias without a
    `*`; and at most two values per character."""
    return len(text) * 2 <= MAX_NODES and "*" not in text and sum(map(text.count, ":-?[{")) < MAX_DEPTH


def _check_depth(text: str, file: str, *, pure: bool) -> tuple[bool, int]:
    """Refuse deep nesting from the event stream, which libyaml produces without recursion, before composing,
    which recurses once per level. Whether the document holds an alias, and its count of nodes: it may expand past
    MAX_NODES values if it holds an alias or more nodes than that (without aliases, the nodes are what
    _check_expansion counts, so a file of a tenant's size is not walked again)."""
    depth = nodes = 0
    aliases = False
    for event in _events(text, pure=pure):
        if isinstance(event, (ScalarEvent, AliasEvent)):
            nodes += 1
            aliases = aliases or isinstance(event, AliasEvent)
        elif isinstance(event, CollectionStartEvent):
            nodes += 1
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                problem = Problem(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    message=f"invalid YAML: nested more than {MAX_DEPTH} levels",
                )
                raise InputError([problem])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return aliases, nodes


def _check_expansion(root: Node, file: str, *, aliases: bool) -> None:
    """Refuse documents that expand to more nodes than any real tenant file has: alias bombs, or without `aliases`,
    documents that are that large as written."""
    sizes: dict[int, int] = {}
    expanding: set[int] = set()

    def expanded(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in expanding:
            mark = node.start_mark
            message = "invalid YAML: an alias refers to a value that contains it"
            raise InputError([Problem(file, mark.line + 1, mark.column + 1, message=message)])
        expanding.add(id(node))
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        total = 1
        for child in children:
            total += expanded(child)
            if total > MAX_NODES:
                break
        expanding.discard(id(node))
        sizes[id(node)] = total
        return total

    if expanded(root) > MAX_NODES:
        mark = root.start_mark
        if aliases:
            message = f"document expands to more than {MAX_NODES} values (aliases repeated too often)"
        else:
            message = f"document holds more than {MAX_NODES} values"
        raise InputError([Problem(file, mark.line + 1, mark.column + 1, message=message)])


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


MERGE_RULE = "a merge key ('<<') takes a mapping or a list of mappings, for example `<<: *defaults`"


def _pairs(node: MappingNode, document: YamlDocument) -> tuple[list[tuple[Node, Node]], list[tuple[Node, Node]]]:
    """The mapping's own key-value pairs, and those its merge keys bring, in the order they take precedence: its own
    over any merged, and of the merged, an earlier mapping's over a later one's (YAML's merge type)."""
    own: list[tuple[Node, Node]] = []
    merged: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag == MERGE_TAG:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise _node_error(document, source, f"invalid YAML: {MERGE_RULE}")
                source_own, source_merged = _pairs(source, document)
                merged += source_own + source_merged
        else:
            own.append((key_node, value_node))
    return own, merged


def _construct(node: Node, location: Location, document: YamlDocument) -> Any:
    document.values.setdefault(location, _mark(node))
    if isinstance(node, MappingNode):
        _check_tag(node, MAP_TAG, document)
        result: dict[Any, Any] = {}
        own, merged = _pairs(node, document)
        for key_node, value_node in own:
            key = _key(key_node, document)
            if key in result:
                first = document.keys[(*location, key)]
                raise _node_error(document, key_node, f"duplicate key {shown(key)} (first at line {first.line})")
            document.keys[(*location, key)] = _mark(key_node)
            result[key] = _construct(value_node, (*location, key), document)
        for key_node, value_node in merged:
            key = _key(key_node, document)
            if key not in result:
                document.keys[(*location, key)] = _mark(key_node)
                result[key] = _construct(value_node, (*location, key), document)
        return result
    if isinstance(node, SequenceNode):
        _check_tag(node, SEQ_TAG, document)
        return [_construct(item, (*location, index), document) for index, item in enumerate(node.value)]
    if not isinstance(node, ScalarNode):
        raise _node_error(document, node, "invalid YAML: a value must be a text, a list or a mapping")
    value = _scalar(node, document)
    if not node.style and not isinstance(value, str):
        document.written[location] = node.value
    return value


def _key(node: Node, document: YamlDocument) -> str:
    if not isinstance(node, ScalarNode):
        raise _node_error(document, node, "mapping keys must be plain values")
    key = _scalar(node, document)
    return key if isinstance(key, str) else str(node.value if key is not None else key)


def _check_tag(node: Node, expected: str, document: YamlDocument) -> None:
    if node.tag not in (expected, "!"):
        raise _node_error(document, node, _tag_refused(node.tag))


def _tag_refused(tag: str | None) -> str:
    tag = tag or "!"
    short = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
    return (
        f"invalid YAML: tag {short} is not allowed; a tenant file holds text, numbers, true/false, lists and mappings"
    )


def _matching(pattern: str, convert: Any) -> Any:
    """`convert`, for text of the core schema's `pattern` only (an explicit `!!int small` is no int)."""
    compiled = re.compile(pattern)

    def conversion(text: str) -> Any:
        if not compiled.match(text):
            raise ValueError(text)
        return convert(text)

    return conversion


def _int(text: str) -> int:
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text[2:], base) if base != 10 else int(text)


def _float(text: str) -> float:
    special = {".inf": math.inf, ".nan": math.nan}.get(text.lstrip("+-").lower())
    if special is None:
        return float(text)
    return -special if text.startswith("-") else special


_CONVERSIONS = {
    STR_TAG: str,
    "!": str,  # the non-specific tag: `! 0755` is text
    MERGE_TAG: str,  # `<<` as a value, not a key, is text
    NULL_TAG: _matching(_CORE_SCALARS[0][1], lambda text: None),
    BOOL_TAG: _matching(_CORE_SCALARS[1][1], lambda text: text.lower() == "true"),
    INT_TAG: _matching(_CORE_SCALARS[2][1], _int),
    FLOAT_TAG: _matching(_CORE_SCALARS[3][1], _float),
}


def _scalar(node: ScalarNode, document: YamlDocument) -> Any:
    tag = node.tag or "!"
    convert = _CONVERSIONS.get(tag)
    if convert is None:
        raise _node_error(document, node, _tag_refused(tag))
    try:
        return convert(node.value)
    except ValueError:
        kind = tag.rsplit(":", 1)[-1]
        raise _node_error(document, node, f"invalid YAML: {shown(node.value)} is not a valid {kind}") from None


def shown(value: Any, limit: int = 40) -> str:
    """A value as it may appear in a one-line message: quoted, escaped and shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _node_error(document: YamlDocument, node: Node, message: str) -> InputError:
    mark = _mark(node)
    return InputError([Problem(document.file, mark.line, mark.column, message=message)])
