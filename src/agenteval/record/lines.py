"""`results.jsonl` (one trial a line) and `outputs.jsonl` (one graded output a line).

Lines are appended and flushed at once (a killed process loses nothing) and fsynced by a
background thread (a power cut loses at most the lines of the last few milliseconds). Reading
never lets one bad line cost the good ones: a bad line in the middle is skipped and reported with
its line number, never a reason to drop the lines after it; only a torn *last* line (a process
killed mid-write) is cut off, so that appending can go on.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Generic, Literal, TypeVar

import msgspec

from agenteval.cases import Case
from agenteval.errors import RecordError
from agenteval.execution.trials import ResultRow, Trial
from agenteval.models.client import Usage
from agenteval.routing import Decision
from agenteval.text import for_record

if TYPE_CHECKING:  # imported by the first outputs line read: most runs grade no outputs
    from agenteval.outputs.results import OutputResult

RESULTS = "results.jsonl"
OUTPUTS = "outputs.jsonl"

T = TypeVar("T")


def result_line(case: Case, trial: Trial) -> str:
    """One results.jsonl line (no trailing newline)."""
    d = trial.decision
    row = {
        "case_id": case.id,
        "trial": trial.trial,
        "prompt": case.prompt,
        "expected": list(trial.expected),
        "label": trial.label,
        "correct": trial.correct,
        "agent": d.agent,
        "raw": d.raw,
        "rationale": d.rationale,
        "error": d.error,
        "task_prompt": d.task_prompt,
        "usage": asdict(d.usage),
        "cost_usd": d.cost_usd,
        "latency_s": round(d.latency_s, 4),
        "cached": d.cached,
        "origin": case.origin,
        "source": case.source,
        "context": case.context,
        "tags": list(case.tags),
        "owner": case.agent,
        "example_index": case.example_index,
    }
    return json.dumps(row, ensure_ascii=False)


class _UsageLine(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


class _TrialLine(msgspec.Struct):
    """A results.jsonl line as `result_line` writes it, typed: a value of the wrong type makes
    the line unreadable (skipped and reported, naming the field), not a row that fails later.
    Keys it does not name are ignored; the optional ones may be missing or null."""

    case_id: str
    trial: Annotated[int, msgspec.Meta(ge=0)]
    prompt: str
    expected: tuple[str, ...]
    label: str | None
    agent: str | None
    origin: Literal["example", "dataset", "generated"]
    source: str
    raw: str | None = None
    rationale: str | None = None
    error: str | None = None
    task_prompt: str | None = None
    usage: _UsageLine | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    cached: bool | None = None
    context: str | None = None
    tags: tuple[str, ...] | None = None
    owner: str | None = None
    example_index: int | None = None


_decode_trial_line = msgspec.json.Decoder(_TrialLine).decode
_decode_json = msgspec.json.Decoder().decode  # any JSON value, as json.loads gives it


class ResultParser:
    """Parses results.jsonl lines; the trials of one case share one `Case` and one `Usage`.

    A run of 10,000 trials over 640 cases would otherwise build 10,000 equal cases (and as many
    equal token counts), a third of the time it takes to read the file.
    """

    def __init__(self) -> None:
        self._cases: dict[str, tuple[tuple[object, ...], Case]] = {}  # id: (its fields, case)
        self._usages: dict[tuple[int, ...], Usage] = {}

    def __call__(self, line: bytes | memoryview | str) -> ResultRow:
        """Parse one results.jsonl line.

        Raises:
            ValueError: when the line is not a trial line (msgspec's error names the field).
        """
        r = _decode_trial_line(line)
        case = self._case_of(r)
        decision = Decision(
            agent=r.agent,
            raw=r.raw or "",
            rationale=r.rationale or "",
            usage=self._usage_of(r.usage or _NO_USAGE),
            cost_usd=r.cost_usd,
            latency_s=r.latency_s or 0.0,
            cached=bool(r.cached),
            error=r.error,
            task_prompt=r.task_prompt,
        )
        trial = Trial(
            case_id=r.case_id,
            trial=r.trial,
            expected=r.expected,
            label=r.label,
            decision=decision,
        )
        return ResultRow(case=case, trial=trial)

    def _case_of(self, r: _TrialLine) -> Case:
        """The line's case: the one read before when its fields are the same."""
        tags = r.tags or ()
        fields = (
            r.case_id,
            r.prompt,
            r.expected,
            r.origin,
            r.source,
            r.context,
            tags,
            r.owner,
            r.example_index,
        )
        known = self._cases.get(r.case_id)  # by id, then compared: no hash of the long prompt
        if known is not None and known[0] == fields:
            return known[1]
        # a new case, or one whose id the next lines give other fields (kept apart)
        case = Case(
            id=r.case_id,
            prompt=r.prompt,
            expected=r.expected,
            origin=r.origin,
            source=r.source,
            context=r.context,
            tags=tags,
            agent=r.owner,
            example_index=r.example_index,
        )
        self._cases[r.case_id] = (fields, case)
        return case

    def _usage_of(self, u: _UsageLine) -> Usage:
        """The line's token counts: the `Usage` read before when they are the same."""
        counts = (u.input_tokens, u.output_tokens, u.cache_write_tokens, u.cache_read_tokens)
        usage = self._usages.get(counts)
        if usage is None:
            usage = self._usages[counts] = Usage(
                input_tokens=counts[0],
                output_tokens=counts[1],
                cache_write_tokens=counts[2],
                cache_read_tokens=counts[3],
            )
        return usage


_NO_USAGE = _UsageLine()


def total_usage(rows: Iterable[ResultRow]) -> Usage:
    """Tokens summed over trials that were not answered from the cache."""
    total = Usage()
    for row in rows:
        if not row.trial.decision.cached:
            total = total + row.trial.decision.usage
    return total


# ------------------------------------------------------------------------------------------
# Reading and appending
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SkippedLine:
    """A line that could not be read, and why."""

    file: str
    line: int
    reason: str

    def describe(self) -> str:
        return f"{self.file}:{self.line}: unreadable line skipped ({self.reason})"


@dataclass(frozen=True, kw_only=True)
class JsonlRead(Generic[T]):
    """What a JSON-lines file held: the good rows, the lines skipped, and a torn last line."""

    file: str
    rows: tuple[T, ...]
    skipped: tuple[SkippedLine, ...] = ()
    torn: int | None = None  # the line number of a torn last line, if there was one
    left_out: tuple[str, ...] = ()  # rows read but not of this run (see `keeping`), said

    def warnings(self) -> tuple[str, ...]:
        """One sentence per problem, for the terminal and the record's notes."""
        found = [s.describe() for s in self.skipped]
        if self.torn is not None:
            found.append(
                f"{self.file}:{self.torn}: torn last line (a run killed mid-write) left out"
            )
        return (*found, *self.left_out)

    def keeping(self, keep: Callable[[T], bool], why: Callable[[T], str]) -> JsonlRead[T]:
        """Only the rows ``keep`` accepts; the others are left out and said (``why``, the first
        few by name), so a hand-edited row never counts in silence."""
        out = [row for row in self.rows if not keep(row)]
        if not out:
            return self
        said = [f"{self.file}: {why(row)}; row skipped" for row in out[:_NAMED_ROWS]]
        if len(out) > _NAMED_ROWS:
            said.append(f"{self.file}: {len(out) - _NAMED_ROWS} more such rows skipped")
        kept = tuple(row for row in self.rows if keep(row))
        return replace(self, rows=kept, left_out=(*self.left_out, *said))


_NAMED_ROWS = 3


def _read_jsonl(
    path: Path, parse: Callable[[memoryview], T], key: Callable[[T], Hashable], *, repair: bool
) -> JsonlRead[T]:
    if not path.exists():
        return JsonlRead(file=path.name, rows=())
    data = _read_bytes(path)
    rows: dict[Hashable, T] = {}
    skipped = []
    # each line is decoded in place, through a view: no copy of the file, line by line
    with memoryview(data) as view:
        number, start = 0, 0
        while (end := data.find(b"\n", start)) >= 0:
            number += 1
            line, start = view[start:end], end + 1
            try:
                row = parse(line)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if line.tobytes().strip():  # a blank line is no trial, and no problem
                    reason = f"{type(exc).__name__}: {exc}"[:120]
                    skipped.append(SkippedLine(file=path.name, line=number, reason=reason))
                continue
            rows.setdefault(key(row), row)  # a pair written twice counts once (the first)
    tail = data[start:]  # b"" when the file ends with a newline
    torn = number + 1 if tail.strip() else None
    if repair and tail:
        _cut_torn_tail(path)
    return JsonlRead(file=path.name, rows=tuple(rows.values()), skipped=tuple(skipped), torn=torn)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        what = "is a folder, not a file" if path.is_dir() else f"cannot be read: {exc.strerror}"
        raise RecordError(
            f"{path.name} {what}",
            path=path,
            hint=f"move it aside and put the run's {path.name} back (or re-run the eval)",
        ) from exc


def load_results(run_dir: Path, *, repair: bool = False) -> JsonlRead[ResultRow]:
    """Read results.jsonl: its trials, its unreadable lines, and a torn last line.

    Args:
        run_dir: The run folder.
        repair: Also cut a torn last line off the file, so that appending can go on.
    """
    return _read_jsonl(
        Path(run_dir) / RESULTS,
        ResultParser(),
        lambda r: (r.trial.case_id, r.trial.trial),
        repair=repair,
    )


def rows_of_run(
    found: JsonlRead[ResultRow], trials: int, case_ids: Collection[str] | None = None
) -> JsonlRead[ResultRow]:
    """The rows of a run's trials (and of its cases, when ``case_ids`` names them); any other
    row (a hand-edited or merged file) is said and left out, never scored in silence."""

    def why(row: ResultRow) -> str:
        if case_ids is not None and row.case.id not in case_ids:
            return f"case {row.case.id!r} is not one of this run's cases"
        return (
            f"trial {row.trial.trial} of case {row.case.id!r} is beyond the {trials} trials "
            "per case the run asked for"
        )

    return found.keeping(
        lambda r: r.trial.trial < trials and (case_ids is None or r.case.id in case_ids), why
    )


def read_results(run_dir: Path, *, repair: bool = False) -> list[ResultRow]:
    """The trials in results.jsonl (see `load_results` for what was skipped)."""
    return list(load_results(run_dir, repair=repair).rows)


def load_outputs(run_dir: Path, *, repair: bool = False) -> JsonlRead[OutputResult]:
    """Read outputs.jsonl, like `load_results`."""
    return _read_jsonl(
        Path(run_dir) / OUTPUTS, _output_result, lambda o: (o.case_id, o.trial), repair=repair
    )


def _output_result(line: memoryview) -> OutputResult:
    from agenteval.outputs.results import OutputResult

    return OutputResult.from_dict(_decode_json(line))


def read_outputs(run_dir: Path, *, repair: bool = False) -> list[OutputResult]:
    """The graded outputs in outputs.jsonl."""
    return list(load_outputs(run_dir, repair=repair).rows)


FSYNC_INTERVAL_S = 0.1


class _Appender:
    """Appends lines: each written and flushed at once, fsynced in time-bounded groups.

    fsync per line in the caller blocks the event loop for as long as the disk takes, and an
    fsync per line even from a thread makes the next append wait for it (the page being written
    back is the one appended to): bench/results_fsync.py. So a background thread fsyncs what is
    new at most every ``interval_s``: a line is on disk within about that long, and a run of a
    thousand quick trials pays for a handful of fsyncs.
    """

    def __init__(self, path: Path, *, interval_s: float = FSYNC_INTERVAL_S) -> None:
        self.path = path
        if path.exists():
            _cut_torn_tail(path)  # appending to a torn line would spoil the next one too
        self._fh = path.open("ab")
        self._fd = self._fh.fileno()
        self._interval_s = interval_s
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self.fsyncs = 0
        self._thread = threading.Thread(target=self._sync, name="agenteval-fsync", daemon=True)
        self._thread.start()

    def _append(self, line: str) -> None:
        line = for_record(line)  # the last guard: no API key (or lone surrogate) gets written
        try:
            self._fh.write(line.encode("utf-8") + b"\n")
            self._fh.flush()
        except OSError as exc:  # a full disk: the lines before this one are kept, and resume
            raise RecordError(
                f"cannot write {self.path.name}: {exc.strerror or exc}",
                path=self.path,
                hint="free some disk space, then `agenteval run --resume "
                f"{self.path.parent}` runs what is missing",
            ) from exc
        self._dirty.set()

    def _sync(self) -> None:
        while True:
            self._dirty.wait()
            if self._closing.is_set():
                return
            self._dirty.clear()
            try:
                os.fsync(self._fd)
            except OSError:
                return  # close() fsyncs once more and raises if the disk still fails
            self.fsyncs += 1
            self._closing.wait(self._interval_s)  # the pause that groups lines; close cuts it

    def close(self) -> None:
        """Stop the thread and fsync the rest (raises if the disk refuses)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._dirty.set()
        self._thread.join()
        try:
            os.fsync(self._fd)
            self.fsyncs += 1
        finally:
            self._fh.close()


class ResultsWriter(_Appender):
    """Appends trial lines to results.jsonl."""

    def __init__(self, run_dir: Path, *, interval_s: float = FSYNC_INTERVAL_S) -> None:
        super().__init__(Path(run_dir) / RESULTS, interval_s=interval_s)

    def write(self, case: Case, trial: Trial) -> None:
        self._append(result_line(case, trial))

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OutputsWriter(_Appender):
    """Appends graded outputs to outputs.jsonl."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(Path(run_dir) / OUTPUTS)

    def write(self, result: OutputResult) -> None:
        self._append(json.dumps(result.to_dict(), ensure_ascii=False))

    def __enter__(self) -> OutputsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Cut whatever follows the last newline (a line whose writer was killed)."""
    with path.open("r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            fh.seek(max(0, end - 65536))
            chunk = fh.read(end - max(0, end - 65536))
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = max(0, end - len(chunk)) + newline + 1
                break
            end -= len(chunk)
        if end < size:
            fh.truncate(end)
