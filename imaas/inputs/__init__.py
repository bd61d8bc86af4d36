"""From files to models, with positions: YAML source, validation messages, tenant files, stack files, git revisions."""
