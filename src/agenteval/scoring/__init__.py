"""Numbers from trials: the scorecard, comparisons between runs, gates."""
