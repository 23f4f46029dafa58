"""Assessment records: confirmed findings become monthly/quarterly scores with evidence (issue 6)."""
