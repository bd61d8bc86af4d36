"""Safe YAML reading that keeps where every value came from.

Tenant files are written by people outside the platform team and read by CI on every pull request,
so reading them must be safe (no object construction, bounded size and alias expansion) and every
error must point at a line and column.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from imaas.inputs.problems import InputError, Problem

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 100


Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
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
    loader = None
    try:
        _check_depth(text, file)
        # libyaml's parser, behind PyYAML's safe constructors: an order of magnitude faster than the pure-Python one,
        # which a thousand tenant files on every pull request would notice.
        loader = yaml.CSafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise InputError([Problem(file, 1, 1, message="file holds no YAML document")])
        _check_expansion(node, file)
        document = YamlDocument(file, None)
        document.data = _construct(node, (), document, loader)
        return document
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = " ".join(part for part in (err.context, err.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if _indented_with_tab(text, line):
            # libyaml's own words ("found character that cannot start any token") do not say what to do.
            message += "; indent with spaces, not tabs"
        raise InputError([Problem(file, line, column, message=f"invalid YAML: {message}")]) from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - text.rfind("\n", 0, err.position)
        raise InputError([Problem(file, line, column, message=f"invalid YAML: {err.reason}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _indented_with_tab(text: str, line: int) -> bool:
    """Whether line `line` (from 1) starts with white space holding a tab, which YAML refuses as indentation."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return False
    current = lines[line - 1]
    return "\t" in current[: len(current) - len(current.lstrip())]


def _check_depth(text: str, file: str) -> None:
    """Refuse deep nesting from the event stream, which libyaml produces without recursion, before composing,
    which recurses once per level."""
    events = yaml.CSafeLoader(text)
    depth = 0
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                    problem = Problem(
                        file,
                        line,
                        column,
                        message=f"invalid YAML: nested more than {MAX_DEPTH} levels",
                    )
                    raise InputError([problem])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        events.dispose()


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse documents whose aliases expand to more nodes than any real tenant file has (alias bombs)."""
    sizes: dict[int, int] = {}
    expanding: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in expanding:
            mark = node.start_mark
            message = "invalid YAML: an alias refers to a value that contains it"
            raise InputError([Problem(file, mark.line + 1, mark.column + 1, message=message)])
        expanding.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
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
        message = f"document expands to more than {MAX_NODES} values (aliases repeated too often)"
        raise InputError([Problem(file, mark.line + 1, mark.column + 1, message=message)])


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(
    node: yaml.Node, location: Location, document: YamlDocument, loader: yaml.constructor.SafeConstructor
) -> Any:
    document.values.setdefault(location, _mark(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _node_error(document, key_node, "mapping keys must be plain values")
            key = _scalar(key_node, document, loader)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                first = document.keys[(*location, key)]
                raise _node_error(document, key_node, f"duplicate key {shown(key)} (first at line {first.line})")
            document.keys[(*location, key)] = _mark(key_node)
            result[key] = _construct(value_node, (*location, key), document, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*location, index), document, loader) for index, item in enumerate(node.value)]
    return _scalar(node, document, loader)


def _scalar(node: yaml.Node, document: YamlDocument, loader: yaml.constructor.SafeConstructor) -> Any:
    try:
        return loader.construct_object(node)
    except yaml.MarkedYAMLError:
        raise
    except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
        kind = node.tag.rsplit(":", 1)[-1]
        raise _node_error(document, node, f"invalid YAML: {shown(node.value)} is not a valid {kind}") from None


def shown(value: Any, limit: int = 40) -> str:
    """A value as it may appear in a one-line message: quoted, escaped and shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _node_error(document: YamlDocument, node: yaml.Node, message: str) -> InputError:
    mark = _mark(node)
    return InputError([Problem(document.file, mark.line, mark.column, message=message)])
