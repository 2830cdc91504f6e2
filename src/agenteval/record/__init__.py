"""The saved run: the typed record, the run folder, the history."""
