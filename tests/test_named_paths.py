"""Every file path a comment, a docstring, the README or docs/ names exists, every doc section a file points to
(`docs/operators.md, Repository access`) and every link of the docs (`operators.md#first-deployment`) reaches its
heading, and every setting the docs name is one the settings model has: a file moved, a section renamed or a
setting renamed cannot leave a pointer to nothing.

A path, here, is a relative path that starts with one of the project's top-level folders (`imaas/declarations/
fence.py`, `docs/operators.md`, `.github/workflows/...`): a token of word characters, dots, dashes and slashes
with at least one slash, not preceded by a slash, a colon, a dot or a word character (absolute paths in a
container, `/opt/...`, and addresses, `https://...`, are not the project's). Placeholders (`<name>`, `{env}`, `*`)
end the token before them, so a templated path is checked up to its last fixed folder. Not the project's either,
though they look alike: a Helm chart's `templates/...` (the project's templates/ holds only `service`), an
upstream project's `docs/<folder>/...` (the project's docs/ has no folders), a name under `imaas/` with a dash
(a commit status such as `imaas/promotion-gate`: Python packages have none), and what .gitignore lists (made at
run time). Files under templates/service are the template repository's own: their paths are relative to it, or
to the project. tenants/ is left out: tests never read it, and docs name tenant files a reader is to write."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import PROJECT_DIR

from imaas.docs.fields import rows
from imaas.inputs.removed_settings import REMOVED_SETTINGS
from imaas.model.settings import CONFIG_NAMESPACE, StackSettings

pytestmark = pytest.mark.fast

TOP_LEVEL = (
    ".ci",
    ".github",
    "bench",
    "components",
    "docs",
    "imaas",
    "policy",
    "schema",
    "templates",
    "tests",
    "tools",
)
PATH = re.compile(rf"(?<![\w/:.~-])((?:{'|'.join(map(re.escape, TOP_LEVEL))})/[\w./-]*)")
TEMPLATE_DIR = PROJECT_DIR / "templates" / "service"
SKIPPED_FOLDERS = {".git", ".venv", "node_modules", ".tools", "build", "__pycache__", ".ruff_cache", "tenants"}
"""Not the project's text (tools, caches, outputs), or not the tests' to read (the shipped tenants/)."""
TEXT_SUFFIXES = {".md", ".yaml", ".yml"}


def _project_files() -> Iterator[Path]:
    for path in sorted(PROJECT_DIR.rglob("*")):
        parts = path.relative_to(PROJECT_DIR).parts
        if path.is_file() and not SKIPPED_FOLDERS & set(parts) and "data" not in parts[:2]:
            yield path


def _python_notes(text: str) -> Iterator[str]:
    """The comments and docstrings of a Python file."""
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.string
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield docstring
    # Attribute docstrings: a string statement after an assignment.
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.value.value


def _notes(path: Path) -> Iterator[str]:
    """What in `path` is prose for people: comments and docstrings, or the whole of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        yield from _python_notes(text)
    elif path.suffix in (".md",):
        yield text
    elif path.suffix in (".yaml", ".yml") or path.name == "Makefile":
        yield from (line.split("#", 1)[1] for line in text.splitlines() if "#" in line)


IGNORED = tuple(
    line.strip().rstrip("/")
    for line in (PROJECT_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()
    if "/" in line.strip().rstrip("/")
)


def _projects(path: str) -> bool:
    """Whether `path` is one of the project's, not a name that only looks like one (see the module's docstring)."""
    top, _, rest = path.partition("/")
    if top == "templates":
        return rest.startswith("service")
    if top == "docs":
        return "/" not in rest
    if top == "imaas" and "-" in rest:
        return False
    return not path.startswith(IGNORED)


def _named_paths(text: str) -> Iterator[str]:
    for match in PATH.finditer(text):
        path = match.group(1).rstrip(".,:;")
        if _projects(path):
            yield path


def _missing(path: Path) -> list[str]:
    root = TEMPLATE_DIR if TEMPLATE_DIR in path.parents else PROJECT_DIR
    return sorted(
        {
            named
            for note in _notes(path)
            for named in _named_paths(note)
            if not (root / named).exists() and not (PROJECT_DIR / named).exists()
        }
    )


NOTED = [p for p in _project_files() if p.suffix in {".py", *TEXT_SUFFIXES} or p.name == "Makefile"]


@pytest.mark.parametrize("path", NOTED, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_every_path_a_comment_or_doc_names_exists(path: Path) -> None:
    assert _missing(path) == [], f"{path.relative_to(PROJECT_DIR)} names paths that do not exist"


def test_the_path_pattern_finds_project_paths_only() -> None:
    text = (
        "see imaas/checks/capacity.py, docs/operators.md and templates/service/; not /opt/imaas/x.py, "
        "https://x.io/docs/a.md, a chart's templates/_helpers.tpl, docs/user-guide/a.md, imaas/promotion-gate/prod"
    )
    assert list(_named_paths(text)) == ["imaas/checks/capacity.py", "docs/operators.md", "templates/service/"]


SETTING = re.compile(rf"`{CONFIG_NAMESPACE}:([A-Za-z][\w.]*\w)")
DOTTED = re.compile(r"`([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+)`")
DOCS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def _setting_names(text: str, top_level: set[str]) -> set[str]:
    """The settings `text` names: as `imaas:<key>`, or as a dotted key under a top-level setting (`a.b.c`)."""
    dotted = {name for name in DOTTED.findall(text) if name.split(".")[0] in top_level}
    return set(SETTING.findall(text)) | dotted


def _known(name: str, keys: set[str], mappings: set[str]) -> bool:
    """A setting of the model, or a key under one of its mappings of free keys (`chartValues.loki.replicas`)."""
    parts = name.split(".")
    return name in keys or any(".".join(parts[:end]) in mappings for end in range(1, len(parts)))


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_setting_the_docs_name_exists(path: Path) -> None:
    """The upgrade note alone may name settings of earlier versions: those the stack file refuses with what replaced
    them (imaas/inputs/removed_settings.py), so that the note and the refusal cannot part."""
    model_rows = rows(StackSettings)
    keys = {row.key.replace("[]", "") for row in model_rows}
    keys = {key.replace(".<name>", "") for key in keys} | keys
    mappings = {row.key for row in model_rows if row.type.startswith("mapping of") and row.type.endswith(" to any")}
    mappings |= {row.key for row in model_rows if row.type.startswith("mapping of") and row.leaf}
    if path.name == "upgrading.md":
        keys |= REMOVED_SETTINGS.keys()
        mappings |= REMOVED_SETTINGS.keys()
    top_level = {StackSettings.model_fields[name].alias or name for name in StackSettings.model_fields}
    named = _setting_names(path.read_text(encoding="utf-8"), top_level | {key.split(".")[0] for key in keys})
    assert sorted(name for name in named if not _known(name, keys, mappings)) == [], (
        f"{path.name} names settings the model does not have"
    )


def _suffixes(key: str) -> set[str]:
    """`a.b.c` as docs write it: whole, or from a nested key on (`b.c`), never one bare word."""
    parts = key.split(".")
    return {".".join(parts[start:]) for start in range(len(parts) - 1)} | ({key} if len(parts) == 1 else set())


BACKTICKED = re.compile(r"`([^`\n]+)`")


@pytest.mark.parametrize("path", [path for path in DOCS if path.name != "upgrading.md"], ids=lambda path: path.name)
def test_no_doc_but_the_upgrade_note_names_a_removed_setting(path: Path) -> None:
    """Also as docs write settings in passing: from a nested key on (`tempo.storage.s3Bucket`), or with a value
    (`argocdPreinstalled: true`), which the check of named settings above cannot tell from other dotted words."""
    current = {
        suffix for row in rows(StackSettings) for suffix in _suffixes(row.key.replace("[]", "").replace(".<name>", ""))
    }
    removed = {suffix for key in REMOVED_SETTINGS for suffix in _suffixes(key)} - current
    whole = {key for key in REMOVED_SETTINGS if "." not in key}
    named = set()
    for token in BACKTICKED.findall(path.read_text(encoding="utf-8")):
        words = token.removeprefix(f"{CONFIG_NAMESPACE}:").split(":")[0].split()
        name = words[0] if words else ""
        if name in removed or name.split(".")[0] in whole:
            named.add(name)
    assert sorted(named) == [], f"{path.name} names settings this version refuses (docs/upgrading.md)"


SECTION = re.compile(r"(docs/[\w-]+\.md), ([A-Z][\w' -]*\w)")
"""A section named after a doc, as comments and messages point to one: `docs/operators.md, Repository access`."""


def _headings(doc: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in doc.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


@pytest.mark.parametrize("path", NOTED, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_every_section_a_file_points_to_exists(path: Path) -> None:
    missing = [
        f"{doc}, {section}"
        for doc, section in SECTION.findall(path.read_text(encoding="utf-8"))
        if (PROJECT_DIR / doc).is_file() and not any(h.startswith(section) for h in _headings(PROJECT_DIR / doc))
    ]
    assert missing == [], f"{path.relative_to(PROJECT_DIR)} points to sections that do not exist"


LINK = re.compile(r"\]\(([^)\s:#]*)(?:#([\w-]+))?\)")
"""A relative Markdown link, and its anchor: `[operators.md](operators.md#first-deployment)`."""


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_link_of_the_docs_reaches_its_file_and_heading(path: Path) -> None:
    broken = []
    for target, anchor in LINK.findall(path.read_text(encoding="utf-8")):
        linked = (path.parent / target).resolve() if target else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in {_anchor(h) for h in _headings(linked)}:
            broken.append(f"{target}#{anchor}")
    assert broken == [], f"{path.name} links to what does not exist"
