"""Which image an environment runs, and its rollback, read from this repository's branches with git.

The image every environment runs is named in deploy/base/kustomization.yaml, which promotion carries from dev to test
to prod by merging. A rollback does not touch it: it writes a rollback block into the environment's own overlay,
deploy/overlays/<env>/kustomization.yaml, a kustomize image entry that replaces exactly the image the base names now
(`name: <repository>:<tag>`) with the one the environment ran before it. The next promotion changes the base, which
the overlay's branch never changed, so it merges without conflict, and the block then matches no image and changes
nothing; the next rollback writes it anew.

    python3 .github/scripts/imaas_release.py current ENV    the image ENV's files name, rollback applied
    python3 .github/scripts/imaas_release.py rollback ENV   on a checkout of branch ENV: point ENV back to the image
                                                          it ran before the current one; prints that image

Standard library only (the runner's python3); the platform's promotion gate reads the same block.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BASE = "deploy/base/kustomization.yaml"
BEGIN = "# imaas-rollback: begin"
END = "# imaas-rollback: end"
NOTE = (
    "# Written by the rollback workflow: while deploy/base names the first image, this environment runs the second.\n"
    "# The next promotion changes deploy/base, and this block then changes nothing.\n"
)
NEW_NAME = re.compile(r"^\s*newName:\s*(\S+)\s*$", re.MULTILINE)
NEW_TAG = re.compile(r"^\s*newTag:\s*\"?([A-Za-z0-9_.{}-]+)\"?\s*$", re.MULTILINE)
NAME = re.compile(r"^\s*-?\s*name:\s*(\S+)\s*$", re.MULTILINE)
HISTORY_LIMIT = 1000


def overlay(environment: str) -> str:
    return f"deploy/overlays/{environment}/kustomization.yaml"


def base_image(text: str) -> str | None:
    name, tag = NEW_NAME.search(text), NEW_TAG.search(text)
    return f"{name.group(1)}:{tag.group(1)}" if name and tag else None


def block(text: str) -> tuple[str, str] | None:
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        return None
    name, tag = NAME.search(text[begin:end]), NEW_TAG.search(text[begin:end])
    if not name or not tag:
        return None
    return name.group(1), f"{name.group(1).rsplit(':', 1)[0]}:{tag.group(1)}"


def without_block(text: str) -> str:
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        return text
    return text[:begin].rstrip("\n") + "\n" + text[end + len(END) :].lstrip("\n")


def runs(base_text: str, overlay_text: str) -> tuple[str | None, str | None]:
    """(the image the environment runs, the image a rollback replaces there, if one does)."""
    image = base_image(base_text)
    replacing = block(overlay_text)
    if image is not None and replacing is not None and replacing[0] == image:
        return replacing[1], image
    return image, None


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def shown(commit: str, path: str) -> str:
    try:
        return git("show", f"{commit}:{path}")
    except subprocess.CalledProcessError:
        return ""


def previous_image(environment: str) -> tuple[str, str]:
    """(the image HEAD's environment runs, the one it ran before it), walking HEAD's first parents: the commits of
    the environment's branch itself, each a promotion, a rollback or a change of its own. An image a rollback
    replaced is never one to go back to."""
    commits = git("rev-list", "--first-parent", f"--max-count={HISTORY_LIMIT}", "HEAD").split()
    current: str | None = None
    replaced: set[str] = set()
    for commit in commits:
        image, rolled_back = runs(shown(commit, BASE), shown(commit, overlay(environment)))
        if rolled_back:
            replaced.add(rolled_back)
        if image is None or image.endswith(":not-built-yet"):
            continue
        if current is None:
            current = image
        elif image != current and image not in replaced:
            return current, image
    raise SystemExit(f"{environment} ran no other image in its last {len(commits)} commits: nothing to roll back to")


def rollback(environment: str) -> str:
    current, previous = previous_image(environment)
    path = Path(overlay(environment))
    base = base_image(Path(BASE).read_text(encoding="utf-8"))
    if base is None:
        raise SystemExit(f"{BASE} names no image")
    entry = f"{BEGIN}\n{NOTE}images:\n  - name: {base}\n    newTag: {previous.rsplit(':', 1)[1]}\n{END}\n"
    path.write_text(without_block(path.read_text(encoding="utf-8")).rstrip("\n") + "\n" + entry, encoding="utf-8")
    print(f"{environment} ran {current}; it now runs {previous}", file=sys.stderr)
    return previous


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("current", "rollback"):
        print(__doc__, file=sys.stderr)
        return 2
    environment = argv[2]
    if argv[1] == "current":
        image, _ = runs(Path(BASE).read_text(encoding="utf-8"), Path(overlay(environment)).read_text(encoding="utf-8"))
        print(image or "")
    else:
        print(rollback(environment))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
