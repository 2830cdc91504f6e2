"""Grading what agents write: produce an output, judge it, score it."""
