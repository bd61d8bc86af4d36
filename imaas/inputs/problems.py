"""Problems found in user input, reported compiler style."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place of one input file."""

    file: str
    line: int = 0
    column: int = 0
    field: str = ""
    message: str = ""

    def __str__(self) -> str:
        place = self.file
        if self.line:
            place += f":{self.line}:{self.column or 1}"
        return f"{place}: {self.field}: {self.message}" if self.field else f"{place}: {self.message}"

    def github(self) -> str:
        """The GitHub Actions annotation that puts this problem on its line in a pull request."""
        props = f"file={escape_property(self.file)}"
        if self.line:
            props += f",line={self.line},col={self.column or 1}"
        title = f",title={escape_property(self.field)}" if self.field else ""
        text = f"{self.field}: {self.message}" if self.field else self.message
        return f"::error {props}{title}::{escape_data(text)}"


def escape_data(text: str) -> str:
    """`text` as a workflow command's message: GitHub reads `%0A` back as a line break, never as a new command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """`text` as a workflow command's property value (`file=...`): `:` and `,` would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class InputError(Exception):
    """Raised with every problem found, so that nothing is declared from input that is partly wrong."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class UsageError(Exception):
    """The command was asked for something that cannot be done as asked (exit code 2)."""
