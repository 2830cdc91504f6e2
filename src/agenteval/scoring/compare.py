"""Compare two runs case by case: what got fixed, what broke, and whether the change is real.

Cases are paired by their content (`case_key`: the request, its context, the set of expected
agents and where the case came from), not by their positional ids (`ex2`), so inserting one
example does not re-pair every later case; the ids are kept for display. Only cases both runs
scored are compared. The runs' settings (`scoring.facts.RunFacts`) decide what the numbers mean:
the same settings are `comparable`; other routers (backend, model, prompt profile) on the same
cases give an `agreement` comparison (how often the two pick the same label), not a regression;
another holdout or number of trials is `not comparable`. A changed catalog is what a comparison
usually measures (a pull request edits descriptions), so it is named, not refused.

Each case counts once, by its per-case rate (right trials over scored trials, as the scorecard
counts them; 0 or 1 with one trial a case), so repeated trials do not pass for independent
evidence and a case right on 1 of 2 trials counts as half right, never as wrong. The change, its
interval and its test come from `stats.paired`: McNemar's score test (clustered by case with
several trials) and the interval that inverts it, so the two never contradict. A case with
several acceptable agents belongs to its first one, as written. Cases only one run has are listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from agenteval.cases import NONE_LABEL, Case
from agenteval.execution.trials import ResultRow
from agenteval.scoring.facts import (
    MEASURE_SETTINGS,
    ROUTER_SETTINGS,
    RunFacts,
    SettingDifference,
    differences,
)
from agenteval.scoring.outcomes import CaseOutcome, case_outcomes
from agenteval.stats import Rate, clustered_wilson
from agenteval.stats.paired import GATE_CONTINUITY, PairedTable, paired_table

_NAME_LISTS = ("added", "removed", "unscored", "relabelled", "agents_added", "agents_removed")
Verdict = Literal["comparable", "agreement", "not comparable"]
CaseKey = tuple[str, str, frozenset[str], str]


def case_key(case: Case) -> CaseKey:
    """What makes two runs' cases the same case: request, context, expected set and origin.

    The expected agents are a set, so reordering a case's acceptable agents keeps the pair.
    """
    return (case.prompt, case.context or "", frozenset(case.expected), case.origin)


@dataclass(frozen=True, kw_only=True)
class Disagreement:
    """A shared case the runs gave different labels (each its modal label over trials)."""

    case_id: str
    expected: tuple[str, ...]
    label_a: str
    label_b: str
    case_id_a: str | None = None  # A's id, when it is not B's


@dataclass(frozen=True, kw_only=True)
class CaseChange:
    """A shared case whose rate differs between the runs, with each run's majority label and
    per-case rate (right trials over scored trials)."""

    case_id: str
    expected: tuple[str, ...]
    label_a: str | None
    label_b: str | None
    rate_a: float | None = None
    rate_b: float | None = None
    case_id_a: str | None = None  # A's id, when it is not B's (cases pair by content)


@dataclass(frozen=True, kw_only=True)
class AgentDelta:
    """Recall of one expected label in each run, on the shared cases it owns.

    ``recall_a`` and ``recall_b`` are mean per-case rates; ``delta_ci`` is the paired 95%
    interval of the change and ``p_value`` the matching two-sided test (None without cases).
    """

    name: str
    support: int
    recall_a: float | None
    recall_b: float | None
    delta_ci: tuple[float, float] | None = None
    p_value: float | None = None

    @property
    def delta(self) -> float | None:
        if self.recall_a is None or self.recall_b is None:
            return None
        return self.recall_b - self.recall_a


@dataclass(frozen=True, kw_only=True)
class GateTest:
    """The regression gate's test: one-sided, continuity-corrected, against a drop of ``margin``
    (a fraction; 0 means any drop) at level ``significance``. With a gate set, every sentence
    about the change is this test's, so none contradicts the gate's verdict."""

    significance: float
    margin: float


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Run B against run A on the cases both scored.

    A shared case is ``fixed`` (its rate rose), ``broken`` (it fell), ``both_right`` (100% in
    both), ``both_wrong`` (0% in both) or ``both_mixed`` (the same rate in between). The accuracies
    are mean per-case rates on the shared cases (the scorecard's accuracy when every case has the
    same number of scored trials), with intervals clustered by case. ``delta`` is B's minus A's;
    ``delta_ci`` its paired 95% interval and ``p_value`` the two-sided score test of no change,
    which is below 0.05 exactly when ``delta_ci`` leaves out 0. ``paired`` is the (effective)
    paired table they come from, kept so a gate can test it at another level or margin;
    ``gate`` is that gate's test when one is set, and then the sentences judge the change by it.
    ``differences`` are the settings that differ (`RunFacts`) and ``verdict`` what they allow.
    ``agreement`` is the share of shared scored cases where both runs gave the same (modal)
    label, with Wilson's interval; ``disagreements`` lists the others. Case ids are B's.
    """

    shared: int
    both_right: int
    both_wrong: int
    fixed: tuple[CaseChange, ...]
    broken: tuple[CaseChange, ...]
    accuracy_a: Rate
    accuracy_b: Rate
    delta: float | None
    delta_ci: tuple[float, float] | None
    p_value: float | None
    agents: tuple[AgentDelta, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unscored: tuple[str, ...]
    relabelled: tuple[str, ...]
    agents_added: tuple[str, ...]
    agents_removed: tuple[str, ...]
    both_mixed: int = 0
    paired: PairedTable | None = None
    differences: tuple[SettingDifference, ...] = ()
    agreement: Rate | None = None
    disagreements: tuple[Disagreement, ...] = ()
    gate: GateTest | None = None

    def with_gate(self, *, significance: float, max_regression: float | None) -> Comparison:
        """This comparison with the regression gate's test, which its sentences then use."""
        gate = GateTest(significance=significance, margin=float(max_regression or 0.0))
        return replace(self, gate=gate)

    @property
    def verdict(self) -> Verdict:
        """`comparable`, `agreement` (other routers, same measurement) or `not comparable`."""
        names = {d.name for d in self.differences}
        if names & set(MEASURE_SETTINGS):
            return "not comparable"
        return "agreement" if names & set(ROUTER_SETTINGS) else "comparable"

    def agent(self, name: str) -> AgentDelta | None:
        return next((a for a in self.agents if a.name == name), None)

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the two-sided test rejects "no difference" at level alpha."""
        return self.p_value is not None and self.p_value < alpha

    def summary_sentence(self, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
        """The comparison in one plain sentence, e.g. for a CLI line or a PR comment.

        Args:
            a: What to call the baseline run (e.g. its run id).
            b: What to call the candidate run.
            alpha: The significance level.
        """
        sentence = self._change_sentence(a, b, alpha, judge=self.verdict == "comparable")
        differ = {d.name: d for d in self.differences}
        if self.verdict == "not comparable":
            which = ", ".join(
                f"{d.name} {'differ' if d.name.endswith('s') else 'differs'} ({a} {d.a}, {b} {d.b})"
                for d in self.differences
                if d.name in MEASURE_SETTINGS
            )
            sentence = (
                f"Not comparable: {which}, so the numbers are not a measure of change and give "
                f"no regression verdict. {sentence}"
            )
        elif self.verdict == "agreement":
            which = "; ".join(
                f"{d.name}: {a} {d.a}, {b} {d.b}" for d in self.differences if d.name != "catalog"
            )
            sentence = (
                f"Routers differ ({which}): showing agreement, not a regression. "
                f"{self._agreement_sentence()} {sentence}"
            )
        if "catalog" in differ:
            d = differ["catalog"]
            sentence += f" The catalog changed ({a} {d.a}, {b} {d.b}): the change includes it."
        return sentence

    def _agreement_sentence(self) -> str:
        rate = self.agreement
        if rate is None or rate.value is None:
            return "They share no scored case."
        ci = (
            ""
            if rate.low is None or rate.high is None
            else (f", 95% CI {rate.low * 100:.1f} to {rate.high * 100:.1f}%")
        )
        return (
            f"They give the same label on {rate.k} of {_count(rate.n, 'shared case')} "
            f"({rate.value * 100:.1f}%{ci})."
        )

    def _change_sentence(self, a: str, b: str, alpha: float, *, judge: bool) -> str:
        if self.delta is None or self.p_value is None:
            return f"{a} and {b} share no scored cases, so they cannot be compared."
        p, verdict = self._tested(alpha)
        shown = ("one-sided " if self._gated() else "") + (
            "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        )
        moved = f"{len(self.fixed)} fixed, {len(self.broken)} broken"
        cases = _count(self.shared, "shared case")
        if not self.fixed and not self.broken:
            sentence = f"{b} and {a} get the same cases right on {cases}: no change."
        elif self.delta == 0:
            sentence = f"{b} scores the same as {a} on {cases} ({moved}; {shown}): no net change."
        else:
            points = f"{abs(self.delta) * 100:.1f} points"
            direction = "better" if self.delta > 0 else "worse"
            if judge:
                sentence = f"{b} is {points} {direction} than {a} on {cases} ({moved}; {shown})"
                sentence += f": {verdict}."
            else:  # a difference of measurement, not a change: no better, worse or verdict
                higher = "higher" if self.delta > 0 else "lower"
                sentence = f"{b} scores {points} {higher} than {a} on {cases} ({moved}; {shown})."
        if self.added or self.removed:
            sentence += (
                f" {_count(len(self.added), 'case')} only in {b}, {len(self.removed)} only in {a}."
            )
        return sentence

    def _gated(self) -> bool:
        return self.gate is not None and self.paired is not None and self.verdict == "comparable"

    def _tested(self, alpha: float) -> tuple[float, str]:
        """The p-value the sentences show and their verdict on the change: the gate's one-sided
        test at its margin and level when a gate is set, else the two-sided test at alpha."""
        delta, p = self.delta or 0.0, self.p_value if self.p_value is not None else 1.0
        change = "gain" if delta > 0 else "drop"
        gate, table = self.gate, self.paired
        if gate is not None and table is not None and self._gated():
            alpha, margin = gate.significance, gate.margin
            if delta > 0:
                p = table.p_value(0.0, "greater", GATE_CONTINUITY)
            else:
                p = table.p_value(-margin, "less", GATE_CONTINUITY)
            allowed = f"the {margin * 100:.1f} points allowed"
            if p < alpha and delta < 0 and margin:
                return p, f"a drop significantly larger than {allowed}"
            if p >= alpha and delta < 0 and -delta <= margin:
                return p, f"inside {allowed}"
            if p >= alpha and delta < 0 and margin:
                return p, f"more than {allowed} but not significantly more (could be chance)"
        if p < alpha:
            return p, f"a significant {change}"
        return p, "not significant (could be chance)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Rebuild a comparison; fields missing from older records take their defaults."""

        def change(d: Mapping[str, Any]) -> CaseChange:
            return CaseChange(**{**d, "expected": tuple(d["expected"])})

        def agent(d: Mapping[str, Any]) -> AgentDelta:
            ci = d.get("delta_ci")
            return AgentDelta(**{**d, "delta_ci": tuple(ci) if ci is not None else None})

        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values.update(
            fixed=tuple(change(c) for c in data["fixed"]),
            broken=tuple(change(c) for c in data["broken"]),
            accuracy_a=Rate(**data["accuracy_a"]),
            accuracy_b=Rate(**data["accuracy_b"]),
            delta_ci=tuple(data["delta_ci"]) if data["delta_ci"] is not None else None,
            agents=tuple(agent(a) for a in data["agents"]),
            paired=PairedTable(**data["paired"]) if data.get("paired") else None,
            differences=tuple(SettingDifference(**d) for d in data.get("differences") or ()),
            agreement=Rate(**data["agreement"]) if data.get("agreement") else None,
            gate=GateTest(**data["gate"]) if data.get("gate") else None,
            disagreements=tuple(
                Disagreement(**{**d, "expected": tuple(d["expected"])})
                for d in data.get("disagreements") or ()
            ),
        )
        values.update({name: tuple(data[name]) for name in _NAME_LISTS})
        return cls(**values)


def compare(
    a_rows: Sequence[ResultRow],
    b_rows: Sequence[ResultRow],
    agent_names_a: Sequence[str],
    agent_names_b: Sequence[str],
    *,
    facts_a: RunFacts | None = None,
    facts_b: RunFacts | None = None,
) -> Comparison:
    """Compare run B against run A (the baseline) on the cases both scored.

    Args:
        a_rows: The baseline run's results.jsonl rows.
        b_rows: The candidate run's rows.
        agent_names_a: The baseline run's catalog, in display order.
        agent_names_b: The candidate run's catalog, in display order.
        facts_a: The baseline's settings (None: unknown, taken as comparable).
        facts_b: The candidate's settings.

    Returns:
        Paired per-case rates, the change with its interval and test, per-agent changes with
        theirs, the fixed and broken cases, the agreement of the two runs' labels, which cases
        and agents came or went, and which settings differ.
    """
    a = {o.case_id: o for o in case_outcomes([r.trial for r in a_rows])}
    b = {o.case_id: o for o in case_outcomes([r.trial for r in b_rows])}
    matched, removed, added = _pair_cases(a_rows, b_rows)
    common = [(a[x], b[y]) for x, y in matched]
    pairs = [(x, y) for x, y in common if x.scored and y.scored]
    rates = [(_rate(x), _rate(y)) for x, y in pairs]
    fixed = tuple(_change(x, y) for x, y in pairs if _rate(y) > _rate(x))
    broken = tuple(_change(x, y) for x, y in pairs if _rate(y) < _rate(x))
    table = paired_table([ra for ra, _ in rates], [rb for _, rb in rates]) if pairs else None
    old, new = set(agent_names_a), set(agent_names_b)
    agreement, disagreements = _agreement(pairs)
    return Comparison(
        shared=len(pairs),
        both_right=sum(ra == rb == 1 for ra, rb in rates),
        both_wrong=sum(ra == rb == 0 for ra, rb in rates),
        both_mixed=sum(ra == rb and 0 < ra < 1 for ra, rb in rates),
        fixed=fixed,
        broken=broken,
        accuracy_a=_mean_rate([x for x, _ in pairs]),
        accuracy_b=_mean_rate([y for _, y in pairs]),
        delta=table.delta if table else None,
        delta_ci=table.interval() if table else None,
        p_value=table.p_value() if table else None,
        agents=_agent_deltas(pairs, [*agent_names_a, *agent_names_b, NONE_LABEL]),
        added=added,
        removed=removed,
        unscored=tuple(y.case_id for x, y in common if not (x.scored and y.scored)),
        relabelled=_relabelled(a_rows, b_rows, removed, added),
        agents_added=tuple(x for x in agent_names_b if x not in old),
        agents_removed=tuple(x for x in agent_names_a if x not in new),
        paired=table,
        differences=differences(facts_a, facts_b),
        agreement=agreement,
        disagreements=disagreements,
    )


def _first_cases(rows: Sequence[ResultRow]) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for r in rows:
        cases.setdefault(r.case.id, r.case)
    return cases


def _pair_cases(
    a_rows: Sequence[ResultRow], b_rows: Sequence[ResultRow]
) -> tuple[list[tuple[str, str]], tuple[str, ...], tuple[str, ...]]:
    """Pair A's and B's case ids by content key; the same key twice pairs in id order.

    Returns:
        ((A id, B id) sorted by B's id, A's ids without a pair, B's ids without a pair).
    """
    by_key: dict[CaseKey, list[str]] = defaultdict(list)
    for case_id, case in sorted(_first_cases(a_rows).items()):
        by_key[case_key(case)].append(case_id)
    matched, added = [], []
    for case_id, case in sorted(_first_cases(b_rows).items()):
        waiting = by_key.get(case_key(case))
        if waiting:
            matched.append((waiting.pop(0), case_id))
        else:
            added.append(case_id)
    removed = sorted(x for ids in by_key.values() for x in ids)
    return matched, tuple(removed), tuple(added)


def _relabelled(
    a_rows: Sequence[ResultRow],
    b_rows: Sequence[ResultRow],
    removed: Sequence[str],
    added: Sequence[str],
) -> tuple[str, ...]:
    """B's unpaired cases whose request A also had, with other expected agents."""
    cases_a, cases_b = _first_cases(a_rows), _first_cases(b_rows)
    before = {_request_key(cases_a[x]) for x in removed}
    return tuple(y for y in added if _request_key(cases_b[y]) in before)


def _request_key(case: Case) -> tuple[str, str, str]:
    return (case.prompt, case.context or "", case.origin)


def _modal(outcome: CaseOutcome) -> str:
    return outcome.counts[0][0]  # counts are most frequent first, ties by label


def _agreement(
    pairs: Sequence[tuple[CaseOutcome, CaseOutcome]],
) -> tuple[Rate | None, tuple[Disagreement, ...]]:
    """How often the runs gave a case the same modal label (Wilson), and where they did not."""
    if not pairs:
        return None, ()
    apart = tuple(
        Disagreement(
            case_id=y.case_id,
            expected=y.expected,
            label_a=_modal(x),
            label_b=_modal(y),
            case_id_a=None if x.case_id == y.case_id else x.case_id,
        )
        for x, y in pairs
        if _modal(x) != _modal(y)
    )
    return Rate.of(len(pairs) - len(apart), len(pairs)), apart


def _rate(outcome: CaseOutcome) -> float:
    return outcome.correct / outcome.scored


def _mean_rate(outcomes: Sequence[CaseOutcome]) -> Rate:
    """The mean per-case rate, its interval clustered by case (each case weighs the same)."""
    if not outcomes:
        return Rate.of(0, 0)
    k, n = sum(o.correct for o in outcomes), sum(o.scored for o in outcomes)
    size = n / len(outcomes)  # every case as if it had the mean number of scored trials
    value = sum(_rate(o) for o in outcomes) / len(outcomes)
    low, high, _ = clustered_wilson([_rate(o) * size for o in outcomes], [size] * len(outcomes))
    return Rate(k=k, n=n, value=value, low=low, high=high)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _change(a: CaseOutcome, b: CaseOutcome) -> CaseChange:
    return CaseChange(
        case_id=b.case_id,
        case_id_a=None if a.case_id == b.case_id else a.case_id,
        expected=b.expected,
        label_a=a.majority,
        label_b=b.majority,
        rate_a=_rate(a),
        rate_b=_rate(b),
    )


def _agent_deltas(
    pairs: Sequence[tuple[CaseOutcome, CaseOutcome]], names: Sequence[str]
) -> tuple[AgentDelta, ...]:
    """Each run's mean per-case rate on the shared cases each label owns, every label once.

    A case belongs to its first acceptable agent as written (in run B, should the runs differ),
    as in the scorecard, so both runs are measured on the same cases.
    """
    order = list(dict.fromkeys([*names, *(y.expected[0] for _, y in pairs)]))
    owned: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    for x, y in pairs:
        owned[y.expected[0]].append((_rate(x), _rate(y)))
    deltas = []
    for name, rates in owned.items():
        if not rates:
            deltas.append(AgentDelta(name=name, support=0, recall_a=None, recall_b=None))
            continue
        table = paired_table([ra for ra, _ in rates], [rb for _, rb in rates])
        deltas.append(
            AgentDelta(
                name=name,
                support=len(rates),
                recall_a=sum(ra for ra, _ in rates) / len(rates),
                recall_b=sum(rb for _, rb in rates) / len(rates),
                delta_ci=table.interval(),
                p_value=table.p_value(),
            )
        )
    return tuple(deltas)


def regression_gate(
    comparison: Comparison,
    *,
    baseline: str,
    significance: float = 0.05,
    max_regression: float | None = None,
) -> dict[str, Any] | None:
    """The release gate against a baseline run: fails only on a drop significantly larger than
    ``max_regression`` (0 when unset); no verdict at all against a baseline whose settings make
    the comparison not a regression test (``comparison.verdict`` other than `comparable`: its
    summary sentence says so and why).

    One-sided: the null hypothesis is "accuracy fell by at most max_regression", tested with the
    comparison's paired score test at that margin, continuity-corrected (`GATE_CONTINUITY`) so it
    keeps its level where discordant pairs are few; the gate fails when it is rejected at level
    ``significance``, i.e. when the one-sided upper confidence bound of the change lies below
    -max_regression. Runs that share no scored case pass: there is nothing to compare. The
    message says which of these happened, in words.

    Args:
        comparison: This run (B) against the baseline (A).
        baseline: The baseline's run id, for the message.
        significance: The one-sided level (0.05: fail with 95% confidence).
        max_regression: The drop allowed, as a fraction (0.02: two points); None means 0.

    Returns:
        The gate's row: name, metric, threshold, value (the change), p_value (one-sided, at the
        margin), bound (the one-sided upper confidence bound of the change), passed, message;
        None when the baseline is not comparable (neither passed nor failed).
    """
    if comparison.verdict != "comparable":
        return None
    margin = float(max_regression or 0.0)
    row: dict[str, Any] = {"name": "regression", "metric": "accuracy_delta"}
    row["threshold"] = max_regression
    table, delta = comparison.paired, comparison.delta
    if table is None or delta is None:
        message = f"Nothing to compare: baseline {baseline} and this run share no scored cases."
        return {**row, "value": None, "p_value": None, "bound": None, "passed": True} | {
            "message": message
        }
    comparison = comparison.with_gate(significance=significance, max_regression=max_regression)
    p = table.p_value(-margin, "less", GATE_CONTINUITY)
    bound = table.upper(1 - significance, GATE_CONTINUITY)
    failed = p < significance
    return {**row, "value": delta, "p_value": p, "bound": bound, "passed": not failed} | {
        "message": _gate_message(comparison, baseline, margin, p, bound, significance)
    }


def _gate_message(
    comparison: Comparison, baseline: str, margin: float, p: float, bound: float, alpha: float
) -> str:
    delta = comparison.delta or 0.0
    cases = _count(comparison.shared, "shared case")
    if delta >= 0:
        words = comparison.summary_sentence(a=f"baseline {baseline}", b="this run", alpha=alpha)
        return f"No regression: {words}"
    drop = (
        f"this run is {-delta * 100:.1f} points worse than baseline {baseline} on {cases} "
        f"({len(comparison.fixed)} fixed, {len(comparison.broken)} broken)"
    )
    shown_p = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    allowed = f"the {margin * 100:.1f} points allowed"
    if p < alpha:
        verdict = f"a drop significantly larger than {allowed}" if margin else "a significant drop"
        return (
            f"Regression: {drop}: {verdict} (one-sided {shown_p}; with "
            f"{(1 - alpha) * 100:g}% confidence the drop is at least {-bound * 100:.1f} points)."
        )
    if -delta <= margin:
        return f"Within tolerance: {drop}, inside {allowed}."
    if margin:
        return (
            f"Not a significant regression: {drop}, more than {allowed} but not significantly "
            f"more (one-sided {shown_p}): it could be chance."
        )
    return f"Not a significant drop: {drop} (one-sided {shown_p}): it could be chance."
