"""The GitHub teams the repository's CODEOWNERS names: teams of the organisation that the platform does not declare,
whose slugs no tenant team (named as its tenant) may take."""

from __future__ import annotations

import re
from pathlib import Path

CODEOWNERS = Path(__file__).resolve().parents[2] / ".github" / "CODEOWNERS"
# An owner `@<organisation>/<team-slug>`; users (`@login`) and e-mail addresses are no teams.
_TEAM = re.compile(r"^@(?P<organisation>[A-Za-z0-9-]+)/(?P<slug>[A-Za-z0-9._-]+)$")


def codeowners_teams(path: Path = CODEOWNERS) -> frozenset[str]:
    """The slugs (lower case, as GitHub keeps them) of the teams `path` names as owners; none where it is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    teams: set[str] = set()
    for line in text.splitlines():
        # A comment starts a line or follows a blank; `\#` in a path is no comment.
        line = re.sub(r"(^|\s)#.*", "", line)
        for owner in line.split()[1:]:
            match = _TEAM.match(owner)
            if match:
                teams.add(match["slug"].lower())
    return frozenset(teams)
