"""What validating a tenants folder found, kept by content so that the processes of one check share it.

A pull request's judge reads the same thousand tenant files in several processes: `imaas validate`, then the offline
plans of main and of the merge (each in its own process and workers). Each would parse every file and run every
rule across files again. With a cache folder (`--validation-cache DIR`, which the workflow passes to every step):

- a file valid on its own is parsed once: its tenant is kept under the SHA-256 of its name, its bytes and the code
  that reads it (as JSON in `packs/`, one pack per folder read, validated again by the tenant's model when read
  back), so that main's copy of an unchanged file is the merge's copy too;
- a folder found valid whole (every file, every rule across files) against some settings is marked so under the
  SHA-256 of its files' digests, those settings and the code (`valid/<digest>`): another process reading the very
  same bytes against the same settings skips the rules across files, which could only find nothing.

Nothing is kept of what has a problem: problems are found again, and said as ever. A changed byte, file name, setting
or line of the validating code makes another digest, so an entry is never used for other content. The folder is the
run's own (a job's temporary folder): entries are data, read as JSON, never code; and a writer of the folder could
still mark an invalid folder valid, so it is never shared with anyone the check does not trust (never restored from
a cache of other runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import sys
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

_FOLDER: Path | None = None
_MEMO: dict[str, object] = {}
"""This process's tenants by file digest (whether or not a cache folder is used)."""
_MEMO_LIMIT = 50_000
_PACKED: dict[str, bytes] = {}
"""The tenants' JSON by file digest, as read from the cache folder's packs or written there."""
_READ_PACKS: set[str] = set()
_PENDING: dict[str, bytes] = {}

PACKAGE_DIR = Path(__file__).resolve().parents[1]
CODEOWNERS = PACKAGE_DIR.parent / ".github" / "CODEOWNERS"


def use(folder: Path | None) -> None:
    """Keep and read entries in `folder` (created if need be) from now on in this process and the ones it forks;
    None: this process's memory alone."""
    global _FOLDER
    if folder is not None:
        (folder / "packs").mkdir(parents=True, exist_ok=True)
        (folder / "valid").mkdir(parents=True, exist_ok=True)
    _FOLDER = folder
    _PACKED.clear()
    _READ_PACKS.clear()
    _PENDING.clear()


def folder() -> Path | None:
    return _FOLDER


@cache
def code_digest() -> str:
    """The SHA-256 of what validation depends on besides the files and the settings: this package's every source
    file, the CODEOWNERS file (whose teams are reserved names), the Python and the pydantic that run it."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}\0{importlib.metadata.version('pydantic')}\0".encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(f"{path.relative_to(PACKAGE_DIR)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(CODEOWNERS.read_bytes() if CODEOWNERS.is_file() else b"\0no CODEOWNERS")
    return digest.hexdigest()


def file_digest(name: str, raw: bytes) -> str:
    """The digest of a tenant file named `name` (its tenant must bear the name) holding `raw`."""
    digest = hashlib.sha256(f"imaas tenant file\0{code_digest()}\0{name}\0{len(raw)}\0".encode())
    digest.update(raw)
    return digest.hexdigest()


def folder_digest(file_digests: Iterable[str], settings: str, organisation: str) -> str:
    """The digest of a folder whose every entry is a tenant file valid on its own (their digests), checked against
    `settings` and `organisation` (as text)."""
    digest = hashlib.sha256(f"imaas tenants folder\0{code_digest()}\0{settings}\0{organisation}\0".encode())
    for entry in sorted(file_digests):
        digest.update(f"{entry}\0".encode())
    return digest.hexdigest()


def recall(digest: str) -> object | None:
    """The tenant kept under `digest`: the tenant itself from this process's memory, or its JSON from the cache
    folder (for the caller to validate by its model); None if unknown."""
    known = _MEMO.get(digest)
    if known is not None or _FOLDER is None:
        return known
    if not _READ_PACKS:
        refresh()
    return _PACKED.get(digest)


def remember(digest: str, tenant: object, text: bytes | None) -> None:
    """Keep `tenant` under `digest` in this process, and its JSON `text`, if given, for the cache folder (written
    by `flush`)."""
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[digest] = tenant
    if _FOLDER is not None and text is not None and digest not in _PACKED:
        _PENDING[digest] = text


def flush() -> None:
    """Write what was remembered since the last flush to the cache folder, as one pack (`packs/<digest>.jsonl`, a
    line `<file digest> <tenant JSON>` each): one file per folder read, not one per tenant file."""
    if _FOLDER is None or not _PENDING:
        return
    data = b"".join(f"{digest} ".encode() + text + b"\n" for digest, text in sorted(_PENDING.items()))
    _PACKED.update(_PENDING)
    _PENDING.clear()
    name = f"{hashlib.sha256(data).hexdigest()}.jsonl"
    _READ_PACKS.add(name)
    _write(_FOLDER / "packs" / name, data)


def refresh() -> None:
    """Read the packs written since this process last looked (by any process of the check): before reading a
    folder, so that what another command kept is found."""
    if _FOLDER is None:
        return
    _READ_PACKS.add("")  # looked, even if there was nothing to read
    try:
        names = os.listdir(_FOLDER / "packs")
    except OSError:
        return
    for name in names:
        if name in _READ_PACKS or not name.endswith(".jsonl"):
            continue
        _READ_PACKS.add(name)
        try:
            data = (_FOLDER / "packs" / name).read_bytes()
        except OSError:
            continue
        for line in data.splitlines():
            digest, _, text = line.partition(b" ")
            _PACKED.setdefault(digest.decode("ascii", errors="replace"), text)


def is_valid(digest: str) -> bool:
    return _FOLDER is not None and (_FOLDER / "valid" / digest).is_file()


def mark_valid(digest: str) -> None:
    if _FOLDER is not None:
        _write(_FOLDER / "valid" / digest, b"")


def _write(path: Path, data: bytes) -> None:
    """Written whole or not at all: processes that read the folder at the same time never see half an entry."""
    if path.exists():
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return  # a cache that cannot be written is a cache not used
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
