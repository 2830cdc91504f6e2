"""The fix loop: new cases from what agents do (`generate`), and description changes proposed by
a model and proved on cases it never saw (`improve`).

Both are pipelines over the parts a run uses: the model client and the `Executor` (budget,
cache, so a rerun costs nothing), the routers, the scoring core and the paired test of the
regression gate.
"""
