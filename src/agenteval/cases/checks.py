"""Checks on an agent's output: validated from a case's `checks:` list, run locally if they can.

Every kind but `rubric` is deterministic and runs here; a `rubric` is graded by a judge model
elsewhere. A `python:` check runs code, so it runs only from a module the eval config trusts
(:class:`CheckTrust`): a dataset can name a function, never make it trusted. Text is compared
after NFC normalisation, so a precomposed "é" and "e" + U+0301 are the same letter;
case-insensitive kinds use Unicode case folding.
"""

from __future__ import annotations

import difflib
import importlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

KINDS = (
    "contains",
    "not_contains",
    "icontains_any",
    "regex",
    "max_words",
    "json",
    "python",
    "rubric",
)
MODIFIERS = ("name", "reference")
RETURNS = "return a bool, (bool, reason) or {'pass': bool, 'reason': str}"

_TEXT_KINDS = ("contains", "not_contains", "icontains_any")
_MODULE = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_TARGET = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*:[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_FENCE = re.compile(r"```[ \t]*json[ \t\r]*\n(.*?)```", re.S | re.I)
_MAX_REASON = 300
# how long one `regex` check may search one output: a pattern that backtracks without end (a
# nested quantifier on a near miss) costs one grading error, not a hung run
REGEX_TIMEOUT_S = 1.0


class CheckSpecError(ValueError):
    """A `checks:` entry is invalid; the dataset loader adds the file and line.

    Args:
        message: What is wrong, starting with where (case and check number).
        hint: How to fix it.
        index: The 0-based position of the offending item in the list, when known.
    """

    def __init__(self, message: str, hint: str, *, index: int | None = None) -> None:
        self.message = message
        self.hint = hint
        self.index = index
        super().__init__(f"{message} (fix: {hint})")


@dataclass(frozen=True, kw_only=True)
class Check:
    """One validated check.

    ``spec`` holds the normalised value: a tuple of NFC strings for the text kinds, a compiled
    pattern for `regex`, an int for `max_words`, the JSON Schema (a dict) or None for `json`,
    ``"module:function"`` for `python` and the criterion for `rubric`.
    """

    kind: str
    name: str
    spec: Any
    reference: str | None = None

    @property
    def model_graded(self) -> bool:
        return self.kind == "rubric"


@dataclass(frozen=True, kw_only=True)
class CheckTrust:
    """Which modules `python:` checks may import and call.

    Datasets come from anywhere (a PR, a download), so a dataset only names a function; the eval
    config (`outputs.trusted_check_modules`) or `--allow-python-checks` decides what runs.
    A trusted module's submodules are trusted; `"*"` trusts every module.
    """

    modules: tuple[str, ...] = ()
    allow_all: bool = False

    @classmethod
    def parse(cls, names: Sequence[str]) -> CheckTrust:
        """Trust from the config's list of module names.

        Raises:
            ValueError: for an entry that is neither a dotted module name nor `"*"`.
        """
        for name in names:
            if name != "*" and not _MODULE.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a module name: list modules like `mychecks` or "
                    '`mypkg.checks` (a trusted module\'s submodules are trusted too), or `"*"`'
                )
        return cls(modules=tuple(n for n in names if n != "*"), allow_all="*" in names)

    def allows(self, module: str) -> bool:
        """True when code in ``module`` may run as a check."""
        return self.allow_all or any(
            module == m or module.startswith(m + ".") for m in self.modules
        )


NO_TRUST = CheckTrust()


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The outcome of one check on one output; ``passed`` is None when it could not be graded."""

    name: str
    kind: str
    passed: bool | None
    reason: str
    score: float | None = None
    error: str | None = None


def parse_checks(raw: Sequence[Mapping[str, Any]], *, where: str) -> tuple[Check, ...]:
    """Validate a case's `checks:` list.

    Args:
        raw: The list as read from YAML or JSON.
        where: Names the case in messages, e.g. ``"case 'sql/index'"`` or ``"ds.yaml:12"``.

    Returns:
        The checks in order, each with a unique name.

    Raises:
        CheckSpecError: for the first problem found (the message counts any others).
    """
    prefix = f"{where}, " if where else ""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise CheckSpecError(
            f"{prefix}`checks` must be a list, got {type(raw).__name__}",
            'write `checks:` followed by items like `- contains: "text"`',
        )
    parsed: list[Check | None] = []
    problems: list[tuple[int, str, str]] = []
    for i, item in enumerate(raw):
        try:
            parsed.append(_parse_one(item))
        except CheckSpecError as exc:
            parsed.append(None)
            problems.append((i, exc.message, exc.hint))
    names: dict[str, int] = {}
    for i, (item, check) in enumerate(zip(raw, parsed, strict=True)):
        if check is not None and isinstance(item, Mapping) and "name" in item:
            if check.name in names:
                problems.append(
                    (
                        i,
                        f"duplicate check name {check.name!r} (also check {names[check.name] + 1})",
                        "give each check a unique `name`",
                    )
                )
            names.setdefault(check.name, i)
    if problems:
        i, message, hint = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise CheckSpecError(f"{prefix}check {i + 1}: {message}{more}", hint, index=i)
    checks: list[Check] = []
    for item, check in zip(raw, parsed, strict=True):
        assert check is not None
        if "name" not in item:  # a derived name: number repeats so results stay distinguishable
            name, n = check.name, 2
            while name in names:
                name, n = f"{check.name}#{n}", n + 1
            names[name] = len(checks)
            check = Check(kind=check.kind, name=name, spec=check.spec, reference=check.reference)
        checks.append(check)
    return tuple(checks)


def _parse_one(item: Any) -> Check:
    if not isinstance(item, Mapping):
        word = str(item).strip().rstrip(":")
        hint = f"write `- {word}: ...`" if word in KINDS else 'write `- contains: "text"`'
        raise CheckSpecError(f"a check must be a mapping like `contains: ...`, got {item!r}", hint)
    if not item:
        raise CheckSpecError("empty check", 'write one kind, e.g. `- contains: "text"`')
    keys = [str(k) for k in item]
    kinds = [k for k in keys if k in KINDS]
    for key in keys:
        if key in KINDS or key in MODIFIERS:
            continue
        close = difflib.get_close_matches(key, KINDS + MODIFIERS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        if kinds:
            raise CheckSpecError(
                f"unknown key {key!r} in a `{kinds[0]}` check",
                hint
                + "a check takes one kind plus an optional `name` (and `reference` for rubric)",
            )
        raise CheckSpecError(
            f"unknown check kind {key!r}", hint + "known kinds: " + ", ".join(KINDS)
        )
    if len(kinds) > 1:
        raise CheckSpecError(
            f"two check kinds in one item: {' and '.join(map(repr, kinds))}",
            "split them into separate list items, one kind each",
        )
    if not kinds:
        raise CheckSpecError(
            f"no check kind, only {', '.join(map(repr, keys))}", "add one of: " + ", ".join(KINDS)
        )
    kind = kinds[0]
    value = item[kind]
    reference = item.get("reference")
    if reference is not None and kind != "rubric":
        raise CheckSpecError(
            f"`reference` only applies to `rubric` checks, not `{kind}`",
            "remove `reference`, or make this a `rubric:` check",
        )
    if "reference" in item:
        reference = _text(reference, "reference", "a reference answer")
    spec, label = _SPEC[kind](value)
    name = _text(item["name"], "name", "a display name") if "name" in item else f"{kind}{label}"
    return Check(kind=kind, name=name, spec=spec, reference=reference)


def _text(value: Any, key: str, what: str) -> str:
    if isinstance(value, str) and value.strip():
        return unicodedata.normalize("NFC", value)
    if isinstance(value, str):
        raise CheckSpecError(f"`{key}` is empty", f"give {what}")
    quote = " (quote it)" if isinstance(value, (bool, int, float)) else ""
    raise CheckSpecError(
        f"`{key}` must be a string, got {type(value).__name__} {value!r}", f"give {what}{quote}"
    )


def _strings(kind: str) -> Callable[[Any], tuple[tuple[str, ...], str]]:
    def parse(value: Any) -> tuple[tuple[str, ...], str]:
        values = value if isinstance(value, list) else [value]
        hint = f'write `{kind}: "text"` or `{kind}: ["a", "b"]` (quote numbers and yes/no)'
        if not values:
            raise CheckSpecError(f"`{kind}` is an empty list", hint)
        out = []
        for v in values:
            if not isinstance(v, str):
                got = f"{type(v).__name__} {v!r}"
                raise CheckSpecError(f"`{kind}` needs strings, got {got}", hint)
            if not v:
                raise CheckSpecError(f"`{kind}` has an empty string", hint)
            out.append(unicodedata.normalize("NFC", v))
        return tuple(out), ":" + _clip("|".join(out), 40)

    return parse


def _regex(value: Any) -> tuple[regex.Pattern[str], str]:
    if not isinstance(value, str) or not value:
        raise CheckSpecError(
            f"`regex` needs a non-empty pattern string, got {value!r}",
            "write one pattern, e.g. `regex: '(?i)rate.?limit'`",
        )
    try:
        pattern = regex.compile(unicodedata.normalize("NFC", value))
    except regex.error as exc:
        raise CheckSpecError(
            f"invalid regex {value!r}: {exc}",
            "fix the pattern (Python `re` syntax); single-quote it in YAML to keep backslashes",
        ) from exc
    return pattern, ":" + _clip(value, 40)


def _max_words(value: Any) -> tuple[int, str]:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CheckSpecError(
            f"`max_words` must be a positive whole number, got {value!r}",
            "write e.g. `max_words: 300`",
        )
    return value, f":{value}"


def _json(value: Any) -> tuple[dict[str, Any] | None, str]:
    hint = "write `json: true`, or `json: {schema: {type: object, required: [name]}}`"
    if value is True or value == {}:
        return None, ""
    if not isinstance(value, Mapping):
        raise CheckSpecError(f"`json` must be true or a mapping, got {value!r}", hint)
    extra = sorted(set(map(str, value)) - {"schema"})
    if extra:
        raise CheckSpecError(f"unknown key {extra[0]!r} under `json`", hint)
    schema = value["schema"]
    if not isinstance(schema, Mapping):
        raise CheckSpecError(f"`json.schema` must be a mapping, got {schema!r}", hint)
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    schema = dict(schema)
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p!r}]" for p in exc.path)
        raise CheckSpecError(
            f"`json.schema` is not a valid JSON Schema: {_clip(exc.message, 200)}"
            + (f" (at schema{where})" if where else ""),
            "fix the schema (see https://json-schema.org); e.g. `{type: object, required: [name]}`",
        ) from exc
    return schema, ":schema"


def _python(value: Any) -> tuple[str, str]:
    hint = "write `python: module:function`, e.g. `python: mychecks:has_tests`"
    if not isinstance(value, str) or not _TARGET.fullmatch(value.strip()):
        if isinstance(value, str) and ("/" in value or ".py" in value):
            hint += " (a module name importable from the project, not a file path)"
        raise CheckSpecError(f"`python` must be `module:function`, got {value!r}", hint)
    return value.strip(), ":" + value.strip()


def _rubric(value: Any) -> tuple[str, str]:
    criterion = _text(value, "rubric", "the criterion in plain words").strip()
    return criterion, ":" + _clip(criterion, 40)


_SPEC: dict[str, Callable[[Any], tuple[Any, str]]] = {
    **{kind: _strings(kind) for kind in _TEXT_KINDS},
    "regex": _regex,
    "max_words": _max_words,
    "json": _json,
    "python": _python,
    "rubric": _rubric,
}


def run_check(
    check: Check, output: str | None, case: Mapping[str, Any], *, trust: CheckTrust = NO_TRUST
) -> CheckResult:
    """Run one deterministic check on an output. Never raises for a deterministic check.

    Args:
        check: A check from :func:`parse_checks`.
        output: What the agent wrote (None is treated as empty).
        case: Passed to `python:` functions as their second argument.
        trust: The modules a `python:` check may run from; any other is an error result.

    Returns:
        The result; ``passed`` is None (with ``error``) when the check could not run.

    Raises:
        ValueError: for a `rubric` check, which only a judge model can grade.
    """
    if check.model_graded:
        raise ValueError(f"check {check.name!r} is a rubric: a judge model grades it")
    text = output or ""
    try:
        if check.kind == "python":
            return _run_python(check, text, case, trust)
        passed, reason = _RUN[check.kind](check.spec, unicodedata.normalize("NFC", text))
    except _GradingError as exc:
        return _error(check, str(exc))
    except Exception as exc:  # a bug here must cost one result, not the run
        return _error(check, f"check {check.name!r} failed to run: {type(exc).__name__}: {exc}")
    return CheckResult(name=check.name, kind=check.kind, passed=passed, reason=reason)


def run_checks(
    checks: Sequence[Check],
    output: str | None,
    case: Mapping[str, Any],
    *,
    trust: CheckTrust = NO_TRUST,
) -> tuple[CheckResult, ...]:
    """Run every deterministic check, in order; rubric checks are left to the judge."""
    return tuple(run_check(c, output, case, trust=trust) for c in checks if not c.model_graded)


def _contains(needles: tuple[str, ...], text: str) -> tuple[bool, str]:
    missing = [n for n in needles if n not in text]
    if missing:
        return False, "missing " + _list(missing)
    return True, "found " + _list(needles)


def _not_contains(needles: tuple[str, ...], text: str) -> tuple[bool, str]:
    found = [n for n in needles if n in text]
    if found:
        return False, "found forbidden " + _list(found)
    return True, "none of " + _list(needles, "or") + " found"


def _icontains_any(needles: tuple[str, ...], text: str) -> tuple[bool, str]:
    folded = _fold(text)
    for n in needles:
        if _fold(n) in folded:
            return True, "found " + _quote(n)
    return False, "none of " + _list(needles, "or") + " found (ignoring case)"


class _GradingError(Exception):
    """A check that ran but could not reach a verdict; the message is the result's error."""


def _regex_search(pattern: regex.Pattern[str], text: str) -> tuple[bool, str]:
    try:
        m = pattern.search(text, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        raise _GradingError(
            f"regex /{_clip(pattern.pattern, 80)}/ ran past its time limit of "
            f"{REGEX_TIMEOUT_S:g} s on this output (it backtracks without end on a near miss); "
            "rewrite it without nested quantifiers such as (a+)+"
        ) from None
    if m is None:
        return False, f"no match for /{_clip(pattern.pattern, 80)}/"
    return True, f"matched {_quote(m.group(0))} at character {m.start()}"


def _word_count(limit: int, text: str) -> tuple[bool, str]:
    words = len(text.split())  # whitespace-separated words; CJK text without spaces counts low
    return (
        (True, f"{words} words <= {limit}")
        if words <= limit
        else (False, f"{words} words > {limit}")
    )


def _json_check(schema: dict[str, Any] | None, text: str) -> tuple[bool, str]:
    source, body = "", text.strip()
    if not body:
        return False, "not JSON: the output is empty"
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, RecursionError) as exc:
        fence = _FENCE.search(body)
        if fence is None:
            return False, "not JSON: " + _json_error(exc)
        source = " (```json block)"
        try:
            data = json.loads(fence.group(1))
        except (json.JSONDecodeError, RecursionError) as exc2:
            return False, f"not JSON{source}: " + _json_error(exc2)
    if schema is None:
        return True, f"valid JSON{source}"
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    error = best_match(validator_for(schema)(schema).iter_errors(data))
    if error is None:
        return True, f"valid JSON{source}, matches the schema"
    at = f" at {error.json_path}" if error.path else ""
    return False, _clip(f"schema{at}: {error.message}", _MAX_REASON)


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "nested too deeply to parse"


_RUN: dict[str, Callable[[Any, str], tuple[bool, str]]] = {
    "contains": _contains,
    "not_contains": _not_contains,
    "icontains_any": _icontains_any,
    "regex": _regex_search,
    "max_words": _word_count,
    "json": _json_check,
}

_FUNCTIONS: dict[str, Callable[..., Any] | str] = {}  # "module:function" -> function or error


def _load_function(target: str) -> Callable[..., Any] | str:
    """The function a `python:` check names, imported once; a string says why it cannot be."""
    if target not in _FUNCTIONS:
        module_name, _, attr = target.partition(":")
        try:
            found: Any = importlib.import_module(module_name)
        except (Exception, SystemExit) as exc:  # a user's module must cost results, not the run
            _FUNCTIONS[target] = (
                f"python check {target!r}: cannot import module {module_name!r} "
                f"({type(exc).__name__}: {exc}); make it importable (PYTHONPATH or project root)"
            )
            return _FUNCTIONS[target]
        for part in attr.split("."):
            parent, found = found, getattr(found, part, None)
            if found is None:
                names = [n for n in dir(parent) if not n.startswith("_")]
                close = difflib.get_close_matches(part, names, n=1)
                also = f"; did you mean {close[0]!r}?" if close else ""
                _FUNCTIONS[target] = (
                    f"python check {target!r}: no function {attr!r} in {module_name!r}{also}"
                )
                return _FUNCTIONS[target]
        if not callable(found):
            _FUNCTIONS[target] = f"python check {target!r}: {attr!r} is not a function"
            return _FUNCTIONS[target]
        _FUNCTIONS[target] = found
    return _FUNCTIONS[target]


def _untrusted(target: str, trust: CheckTrust) -> str | None:
    """Why ``target`` may not run (before anything is imported), or None when it may."""
    module_name, _, attr = target.partition(":")
    allow = (
        f"list it under `outputs.trusted_check_modules: [{module_name.split('.')[0]}]` in the "
        "eval config, or pass --allow-python-checks (only for datasets you trust)"
    )
    if not trust.allows(module_name):
        return f"python check {target!r} not run: module {module_name!r} is not trusted; {allow}"
    if not trust.allow_all and any(p.startswith("_") for p in attr.split(".")):
        return f"python check {target!r} not run: {attr!r} is private to {module_name!r}"
    return None


def _run_python(check: Check, text: str, case: Mapping[str, Any], trust: CheckTrust) -> CheckResult:
    target = check.spec
    refused = _untrusted(target, trust)
    if refused is not None:
        return _error(check, refused)
    fn = _load_function(target)
    if isinstance(fn, str):
        return _error(check, fn)
    home = getattr(fn, "__module__", None)
    if not trust.allow_all and not (isinstance(home, str) and trust.allows(home)):
        # `mychecks:os.system` names a trusted module but runs code it merely imported
        return _error(
            check,
            f"python check {target!r} not run: the function is defined in {home!r}, not in a "
            "trusted module; point the check at a function written in the trusted module",
        )
    try:
        value = fn(text, case)
    except (Exception, SystemExit) as exc:  # sys.exit() in a user's check is one error too
        return _error(check, f"python check {target!r} raised {type(exc).__name__}: {exc}")
    score = None
    if isinstance(value, Mapping):
        passed = value.get("pass", value.get("passed"))
        reason, score = value.get("reason"), value.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            return _error(check, f"python check {target!r} returned score {score!r}, not a number")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        passed, reason = value
    else:
        passed, reason = value, None
    if type(passed).__name__ in ("bool", "bool_"):  # numpy's bool_ too
        passed = bool(passed)
    if not isinstance(passed, bool):
        got = _clip(repr(value), 80)
        return _error(check, f"python check {target!r} returned {got}; {RETURNS}")
    reason = _clip(str(reason), _MAX_REASON) if reason else f"{target} returned {passed}"
    return CheckResult(
        name=check.name,
        kind=check.kind,
        passed=passed,
        reason=reason,
        score=float(score) if score is not None else None,
    )


def _error(check: Check, message: str) -> CheckResult:
    message = _clip(message, 2000)
    return CheckResult(
        name=check.name,
        kind=check.kind,
        passed=None,
        reason=_clip(message, _MAX_REASON),
        error=message,
    )


def _fold(text: str) -> str:
    """Canonical caseless form: equal for texts that differ only in case or normal form."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quote(text: str) -> str:
    return json.dumps(_clip(text, 60), ensure_ascii=False)


def _list(items: Sequence[str], joiner: str = "and") -> str:
    shown = [_quote(s) for s in items[:3]]
    more = f" {joiner} {len(items) - 3} more" if len(items) > 3 else ""
    if len(shown) > 1 and not more:
        return ", ".join(shown[:-1]) + f" {joiner} " + shown[-1]
    return ", ".join(shown) + more
