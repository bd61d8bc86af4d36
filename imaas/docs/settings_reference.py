"""docs/settings.md: every stack setting (the `imaas:` keys of `Pulumi.<cluster>.yaml`), walked over the settings
model whatever its shape, and the count of its leaves."""

from __future__ import annotations

from imaas.declarations.store_limits import OBSERVABILITY_LIMITS
from imaas.docs.fields import built_in_entries, entries_table, rows, table
from imaas.docs.sections import PROJECT_DIR, whole_file
from imaas.model.settings import CONFIG_NAMESPACE, StackSettings


def leaf_count() -> int:
    return sum(row.leaf for row in rows(StackSettings))


def _body() -> list[str]:
    return [
        f"{leaf_count()} settings (the rows that hold a value, not further keys).",
        "",
        f"Each key is set as `{CONFIG_NAMESPACE}:<key>` in `Pulumi.<cluster>.yaml`; `a.b` is key `b` of mapping `a`, "
        "`a[].b` key `b` of each item of list `a`, and `a.<name>.b` key `b` of each entry of mapping `a`.",
        "",
        *table(rows(StackSettings)),
        *(
            line
            for key, entries in built_in_entries(StackSettings).items()
            for line in ["", f"## Built-in `{key}`", "", *entries_table(entries)]
        ),
        "",
        "## Observability limits per tenant size",
        "",
        "Fixed by the platform (`OBSERVABILITY_LIMITS` in imaas/declarations/store_limits.py), not a setting: what one "
        "tenant of each size may put into the shared stores, and its samples per scrape.",
        "",
        *entries_table({str(size): limits for size, limits in OBSERVABILITY_LIMITS.items()}),
    ]


SETTINGS = whole_file(PROJECT_DIR / "docs" / "settings.md", "Stack settings", "imaas/model/settings.py", _body)
