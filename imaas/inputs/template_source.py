"""The service template as the platform publishes it: the files of `templates/service` and their version, which is
the id git gives their tree. The same id names the template repository's commit of that version and the first
commit of every repository GitHub generates from it, so each side can be matched to a version without a lookup."""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path

from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import display_path

# Where the template lives in the platform's repository, from its root.
TEMPLATE_DIR = Path("templates", "service")
REGULAR, EXECUTABLE = "100644", "100755"
TREE = "40000"


@dataclass(frozen=True)
class TemplateFile:
    path: str
    """Its path inside the template, with `/` separators."""
    content: bytes
    executable: bool


def template_files(directory: Path) -> list[TemplateFile]:
    """Every file under `directory`, sorted by path; a link is refused (git would store the link, not its target)."""
    files = []
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            raise InputError([Problem(display_path(path), 0, 0, "", "the service template may not hold links")])
        if path.is_file():
            mode = path.stat().st_mode
            files.append(
                TemplateFile(path.relative_to(directory).as_posix(), path.read_bytes(), bool(mode & stat.S_IXUSR))
            )
    return files


def _object_id(kind: str, body: bytes) -> bytes:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).digest()


def tree_id(files: list[TemplateFile]) -> str:
    """The id `git write-tree` gives these files (SHA-1 object format)."""
    root: dict[str, object] = {}
    for file in files:
        *folders, name = file.path.split("/")
        node = root
        for folder in folders:
            node = node.setdefault(folder, {})  # type: ignore[assignment]
        node[name] = file
    return _tree(root).hex()


def _tree(node: dict[str, object]) -> bytes:
    entries = []
    for name, child in node.items():
        if isinstance(child, TemplateFile):
            mode, digest = (EXECUTABLE if child.executable else REGULAR), _object_id("blob", child.content)
            entries.append((name, mode, digest))
        else:
            entries.append((name + "/", TREE, _tree(child)))  # type: ignore[arg-type]
    # Git sorts a tree's entries by name, a folder's as though it ended with "/".
    body = b"".join(f"{mode} {name.rstrip('/')}".encode() + b"\0" + digest for name, mode, digest in sorted(entries))
    return _object_id("tree", body)


def template_version(directory: Path) -> str:
    """The version of the template in `directory`: its git tree id."""
    return tree_id(template_files(directory))
