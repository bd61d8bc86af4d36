"""Tenant text in Markdown: what a pull request's files hold is data, never markup (DESIGN section 7)."""

from __future__ import annotations

import re


def code(text: str) -> str:
    """`text` as an inline code span that is safe inside a table cell: fenced with one backtick more than its longest
    run of backticks, so that no run inside closes it (CommonMark closes a span only at a run of the same length), and
    padded with a space where it holds one (a backtick at either end would join the fence)."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if longest else ""
    return f"{fence}{padding}{text}{padding}{fence}"
