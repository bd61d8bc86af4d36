"""The command line of DESIGN section 5: one module per command, each adding itself to `app`."""

from imaas.cli import approvals, diff, new, plan, preflight, schema, stacks, template, validate
from imaas.cli.app import app
from imaas.cli.output import err, out

__all__ = [
    "app",
    "approvals",
    "diff",
    "err",
    "new",
    "out",
    "plan",
    "preflight",
    "schema",
    "stacks",
    "template",
    "validate",
]
