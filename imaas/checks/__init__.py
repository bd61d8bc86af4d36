"""Every rule beyond one field, one module per scope: across tenant files, against the base revision, across stacks."""
