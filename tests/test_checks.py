"""Output checks: validation of `checks:` entries and every deterministic kind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unicodedata
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from agenteval.cases.checks import (
    Check,
    CheckResult,
    CheckSpecError,
    CheckTrust,
    parse_checks,
    run_check,
    run_checks,
)

CASE = {"id": "ds/c1", "prompt": "add an index"}


def one(item: dict) -> Check:
    (check,) = parse_checks([item], where="case 'ds/c1'")
    return check


def run(item: dict, output: str | None) -> CheckResult:
    trust = CheckTrust(allow_all=True)  # trust itself is tested at the end of this file
    return run_check(one(item), output, CASE, trust=trust)


# --- every kind, passing and failing ---------------------------------------------------------


@pytest.mark.parametrize(
    "item, output, passed, reason",
    [
        ({"contains": "CREATE INDEX"}, "CREATE INDEX idx ON t(c);", True, 'found "CREATE INDEX"'),
        ({"contains": "CREATE INDEX"}, "create index idx", False, 'missing "CREATE INDEX"'),
        ({"contains": ["a", "b", "c"]}, "a c", False, 'missing "b"'),
        ({"contains": ["ab", "cd"]}, "abcd", True, 'found "ab" and "cd"'),
        ({"not_contains": ["TODO", "lorem"]}, "all done", True, 'none of "TODO" or "lorem"'),
        ({"not_contains": ["TODO", "lorem"]}, "x TODO y", False, 'found forbidden "TODO"'),
        ({"not_contains": "I apologize"}, "I apologize.", False, 'found forbidden "I apologize"'),
        ({"icontains_any": ["jwt", "json web token"]}, "Use a JSON Web Token", True, "found"),
        ({"icontains_any": ["jwt", "json web token"]}, "use a session cookie", False, "none of"),
        ({"regex": "(?i)rate.?limit"}, "add Rate-Limit headers", True, 'matched "Rate-Limit"'),
        ({"regex": "(?i)rate.?limit"}, "add caching", False, "no match for /(?i)rate.?limit/"),
        ({"regex": r"^\d+$"}, "12\n", True, 'matched "12"'),
        ({"max_words": 3}, "one two three", True, "3 words <= 3"),
        ({"max_words": 3}, "one two\nthree\tfour", False, "4 words > 3"),
        ({"json": True}, '{"name": "x"}', True, "valid JSON"),
        ({"json": True}, "not json", False, "not JSON: Expecting value at line 1 column 1"),
        ({"json": True}, '{"a": 1,}', False, "not JSON: Expecting property name"),
        (
            {"json": {"schema": {"type": "object", "required": ["name"]}}},
            '{"name": "x"}',
            True,
            "matches the schema",
        ),
        (
            {"json": {"schema": {"type": "object", "required": ["name"]}}},
            '{"title": "x"}',
            False,
            "schema: 'name' is a required property",
        ),
        (
            {"json": {"schema": {"properties": {"age": {"type": "integer"}}}}},
            '{"age": "ten"}',
            False,
            "schema at $.age: 'ten' is not of type 'integer'",
        ),
    ],
)
def test_deterministic_kinds(item, output, passed, reason):
    result = run(item, output)
    assert result.passed is passed
    assert reason in result.reason
    assert result.error is None
    assert result.kind == next(iter(item))


@pytest.mark.parametrize("output", [None, ""])
def test_empty_or_missing_output(output):
    assert run({"contains": "x"}, output).passed is False
    assert run({"not_contains": "x"}, output).passed is True
    assert run({"icontains_any": ["x"]}, output).passed is False
    assert run({"regex": "^$"}, output).passed is True
    assert run({"max_words": 1}, output).reason == "0 words <= 1"
    result = run({"json": True}, output)
    assert result.passed is False and result.reason == "not JSON: the output is empty"


def test_json_inside_a_fenced_block():
    prose = 'Here it is:\n\n```json\n{"name": "orders", "cols": [1, 2]}\n```\nDone.'
    schema = {"json": {"schema": {"type": "object", "required": ["name"]}}}
    result = run(schema, prose)
    assert result.passed is True and "```json block" in result.reason
    assert run({"json": True}, "Result:\n```JSON \r\n[1, 2]\n```").passed is True
    bad = run({"json": True}, "Result:\n```json\n{name: 1}\n```")
    assert bad.passed is False
    assert bad.reason.startswith("not JSON (```json block): Expecting property name")
    # a fence of another language is not JSON
    assert run({"json": True}, '```python\n{"a": 1}\n```').passed is False


# --- names, rubric, run_checks ---------------------------------------------------------------


def test_names_are_derived_unique_or_given():
    checks = parse_checks(
        [
            {"contains": "SELECT"},
            {"contains": "SELECT"},
            {"not_contains": ["TODO", "lorem"]},
            {"json": True},
            {"json": {"schema": {"type": "array"}}},
            {"python": "mychecks:has_tests"},
            {"max_words": 300},
            {"regex": "x+"},
            {"rubric": "Explains why the index helps and names the column it indexes"},
            {"name": "no-apology", "not_contains": "I apologize"},
        ],
        where="case 'a'",
    )
    assert [c.name for c in checks] == [
        "contains:SELECT",
        "contains:SELECT#2",
        "not_contains:TODO|lorem",
        "json",
        "json:schema",
        "python:mychecks:has_tests",
        "max_words:300",
        "regex:x+",
        "rubric:Explains why the index helps and names…",
        "no-apology",
    ]
    assert checks[0] == Check(kind="contains", name="contains:SELECT", spec=("SELECT",))
    assert checks[6].spec == 300 and checks[3].spec is None


def test_rubric_is_model_graded_and_left_to_the_judge():
    checks = parse_checks(
        [
            {"contains": "INDEX"},
            {"rubric": "  Names the column  ", "reference": "CREATE INDEX i ON o(customer_id)"},
            {"max_words": 2},
        ],
        where="case 'a'",
    )
    rubric = checks[1]
    assert rubric.model_graded and not checks[0].model_graded
    assert rubric.spec == "Names the column"
    assert rubric.reference == "CREATE INDEX i ON o(customer_id)"
    with pytest.raises(ValueError, match="judge"):
        run_check(rubric, "anything", CASE)
    results = run_checks(checks, "CREATE INDEX now", CASE)
    assert [(r.kind, r.passed) for r in results] == [("contains", True), ("max_words", False)]


def test_results_round_trip_as_dicts():
    result = run({"contains": "x"}, "y")
    assert CheckResult(**asdict(result)) == result
    assert json.loads(json.dumps(asdict(result)))["passed"] is False


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item, message, hint",
    [
        ({}, "empty check", "contains"),
        ("contains", "a check must be a mapping", "write `- contains: ...`"),
        ({"contians": "x"}, "unknown check kind 'contians'", "did you mean 'contains'?"),
        ({"length": 3}, "unknown check kind 'length'", "known kinds: contains"),
        ({"contains": "x", "regex": "y"}, "two check kinds in one item", "separate list items"),
        ({"name": "n"}, "no check kind, only 'name'", "add one of: contains"),
        ({"contains": "x", "nmae": "n"}, "unknown key 'nmae' in a `contains` check", "'name'?"),
        ({"contains": "x", "reference": "r"}, "`reference` only applies to `rubric`", "remove"),
        ({"contains": ""}, "`contains` has an empty string", 'write `contains: "text"`'),
        ({"contains": []}, "`contains` is an empty list", '["a", "b"]'),
        ({"contains": 42}, "`contains` needs strings, got int 42", "quote numbers"),
        ({"icontains_any": True}, "needs strings, got bool True", "yes/no"),
        ({"not_contains": ["a", None]}, "`not_contains` needs strings, got NoneType", "quote"),
        ({"contains": {"a": 1}}, "needs strings, got dict", "contains"),
        ({"max_words": 0}, "`max_words` must be a positive whole number, got 0", "300"),
        ({"max_words": "300"}, "positive whole number, got '300'", "max_words: 300"),
        ({"max_words": True}, "positive whole number, got True", "max_words: 300"),
        ({"max_words": 2.5}, "positive whole number, got 2.5", "max_words: 300"),
        ({"regex": "(unclosed"}, "invalid regex '(unclosed': missing )", "Python `re`"),
        ({"regex": "a{2,1}"}, "invalid regex 'a{2,1}'", "fix the pattern"),
        ({"regex": ""}, "`regex` needs a non-empty pattern", "regex: '(?i)"),
        ({"regex": ["a", "b"]}, "`regex` needs a non-empty pattern", "one pattern"),
        ({"python": "mychecks.has_tests"}, "must be `module:function`", "mychecks:has_tests"),
        ({"python": "checks/my.py:fn"}, "must be `module:function`", "not a file path"),
        ({"python": "mod:fn:extra"}, "must be `module:function`", "module:function"),
        ({"python": 3}, "`python` must be `module:function`, got 3", "module:function"),
        ({"json": False}, "`json` must be true or a mapping, got False", "json: true"),
        ({"json": "yes"}, "`json` must be true or a mapping", "schema"),
        ({"json": {"shcema": {}}}, "unknown key 'shcema' under `json`", "schema"),
        ({"json": {"schema": "object"}}, "`json.schema` must be a mapping", "type: object"),
        (
            {"json": {"schema": {"type": "objekt"}}},
            "`json.schema` is not a valid JSON Schema: 'objekt' is not valid",
            "json-schema.org",
        ),
        (
            {"json": {"schema": {"properties": {"a": {"minimum": "1"}}}}},
            "not a valid JSON Schema: '1' is not of type 'number' (at schema['properties']",
            "fix the schema",
        ),
        ({"rubric": "  "}, "`rubric` is empty", "criterion"),
        ({"rubric": ["a"]}, "`rubric` must be a string, got list", "criterion"),
        ({"rubric": "ok", "reference": 5}, "`reference` must be a string, got int 5", "quote"),
        ({"contains": "x", "name": ""}, "`name` is empty", "display name"),
        ({"contains": "x", "name": 7}, "`name` must be a string", "display name"),
    ],
)
def test_validation_errors(item, message, hint):
    with pytest.raises(CheckSpecError) as err:
        parse_checks([{"contains": "fine"}, item], where="case 'ds/c1'")
    assert err.value.message.startswith("case 'ds/c1', check 2: ")
    assert message in err.value.message
    assert hint in err.value.hint
    assert err.value.index == 1
    assert isinstance(err.value, ValueError)
    assert f"(fix: {err.value.hint})" in str(err.value)


def test_validation_counts_every_problem_and_names_duplicates():
    with pytest.raises(CheckSpecError) as err:
        parse_checks(
            [{"name": "n", "contains": "a"}, {"max_words": -1}, {"name": "n", "regex": "b"}],
            where="ds.yaml:12",
        )
    assert err.value.message == (
        "ds.yaml:12, check 2: `max_words` must be a positive whole number, got -1 "
        "(and 1 more problems)"
    )
    with pytest.raises(CheckSpecError) as err:
        parse_checks([{"name": "n", "contains": "a"}, {"name": "n", "regex": "b"}], where="")
    assert err.value.message == "check 2: duplicate check name 'n' (also check 1)"
    assert "unique `name`" in err.value.hint


@pytest.mark.parametrize("raw", [{"contains": "x"}, "contains: x", None])
def test_checks_must_be_a_list(raw):
    with pytest.raises(CheckSpecError, match="`checks` must be a list") as err:
        parse_checks(raw, where="case 'a'")  # type: ignore[arg-type]
    assert "- contains:" in err.value.hint


def test_python_checks_are_not_imported_when_parsed():
    (check,) = parse_checks([{"python": "surely_absent_module_x:fn"}], where="")
    assert check.spec == "surely_absent_module_x:fn"


def test_checks_without_a_schema_run_without_jsonschema():
    code = (
        "import sys; sys.modules['jsonschema'] = None; "
        "from agenteval.cases.checks import parse_checks, run_checks; "
        "cs = parse_checks([{'contains': 'x'}, {'json': True}], where=''); "
        "print([c.passed for c in run_checks(cs, '{\"x\": 1}', {})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[True, True]", out.stderr


# --- unicode ---------------------------------------------------------------------------------


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_unicode_text_matches_across_normal_forms():
    assert nfd("Ünïcödé") != "Ünïcödé"
    assert run({"contains": "Ünïcödé"}, nfd("say Ünïcödé!")).passed is True
    assert run({"contains": nfd("Ünïcödé")}, "say Ünïcödé!").passed is True
    assert run({"not_contains": "Ünïcödé"}, nfd("Ünïcödé")).reason == 'found forbidden "Ünïcödé"'
    assert run({"regex": nfd("ödé$")}, "Ünïcödé").passed is True
    # a base letter is not found inside an accented one, in either form
    assert run({"contains": "cafe"}, "café").passed is False
    assert run({"contains": "cafe"}, nfd("café")).passed is False
    assert run({"icontains_any": ["CAFE"]}, nfd("Café")).passed is False


def test_case_insensitive_uses_case_folding():
    assert run({"icontains_any": ["ÜNÏCÖDÉ"]}, nfd("ünïcödé")).passed is True
    assert run({"icontains_any": ["STRASSE"]}, "die Straße").passed is True
    assert run({"icontains_any": ["ΣΊΣΥΦΟΣ"]}, "ο Σίσυφος").passed is True
    assert run({"icontains_any": ["İstanbul", "ankara"]}, "ANKARA").reason == 'found "ankara"'


def test_japanese_and_emoji():
    text = "これは日本語のテキストです 🚀 done 👩‍💻"
    assert run({"contains": ["日本語", "🚀", "👩‍💻"]}, text).passed is True
    result = run({"not_contains": ["中文", "🔥"]}, text + "🔥")
    assert result.passed is False and result.reason == 'found forbidden "🔥"'
    assert (
        run({"regex": r"日本\w+"}, text).reason == 'matched "日本語のテキストです" at character 3'
    )
    assert run({"max_words": 3}, text).reason == "4 words > 3"
    assert run({"json": True}, '{"名前": "🚀"}').passed is True


# --- very long outputs -----------------------------------------------------------------------


MB = 1_000_000


def test_one_megabyte_of_text():
    words = MB // 6
    big = "lorem " * words + "NEEDLE-42"
    assert len(big) > MB
    assert run({"contains": "NEEDLE-42"}, big).passed is True
    assert run({"contains": "ABSENT"}, big).reason == 'missing "ABSENT"'
    assert run({"not_contains": "lorem"}, big).passed is False
    assert run({"icontains_any": ["needle-42"]}, big).passed is True
    assert (
        run({"regex": r"NEEDLE-(\d+)$"}, big).reason
        == f'matched "NEEDLE-42" at character {words * 6}'
    )
    assert run({"max_words": 300}, big).reason == f"{words + 1} words > 300"
    assert run({"max_words": words + 1}, big).passed is True


def test_one_megabyte_of_json():
    data = list(range(200_000))
    text = json.dumps(data)
    assert len(text) > MB
    schema = {"json": {"schema": {"type": "array", "items": {"type": "integer"}}}}
    assert run(schema, text).passed is True
    result = run(schema, json.dumps([*data, "oops"]))
    assert result.passed is False
    assert result.reason == "schema at $[200000]: 'oops' is not of type 'integer'"
    whole = run({"json": {"schema": {"type": "object"}}}, text)
    assert whole.passed is False and len(whole.reason) <= 300 and whole.reason.endswith("…")
    truncated = run({"json": True}, text[:-1])
    assert truncated.passed is False and truncated.reason.startswith("not JSON: Expecting")


def test_reasons_stay_short_for_long_needles():
    needle = "x" * 5000
    result = run({"contains": [needle, "y" * 5000, "z", "w"]}, "nothing")
    assert result.passed is False
    assert len(result.reason) < 250 and result.reason.endswith("and 1 more")
    assert run({"json": True}, "{" * 100_000).passed is False  # too deep: a failure, not a crash


# --- python: checks --------------------------------------------------------------------------

USER_CHECKS = """
def as_bool(output, case):
    return "def test_" in output

def as_tuple(output, case):
    found = "pytest" in output
    return found, f"case {case['id']}: pytest " + ("used" if found else "absent")

def as_list(output, case):
    return [True, "listed"]

def as_dict(output, case):
    return {"pass": len(output) < 10, "reason": f"{len(output)} characters", "score": 0.25}

def as_passed_dict(output, case):
    return {"passed": True}

def boom(output, case):
    raise RuntimeError("kaboom")

def weird(output, case):
    return "yes"

def bad_score(output, case):
    return {"pass": True, "score": "high"}

class Grader:
    @staticmethod
    def check(output, case):
        return True

import builtins
_exec = exec

NOT_CALLABLE = 42
"""


@pytest.fixture
def mod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    name = f"userchecks_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(USER_CHECKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_python_check_returning_bool(mod):
    assert run({"python": f"{mod}:as_bool"}, "def test_x(): pass").passed is True
    result = run({"python": f"{mod}:as_bool"}, "no tests")
    assert result.passed is False and result.reason == f"{mod}:as_bool returned False"
    assert run({"python": f"{mod}:Grader.check"}, "").passed is True


def test_python_check_returning_a_reason(mod):
    result = run({"python": f"{mod}:as_tuple"}, "import pytest")
    assert (result.passed, result.reason) == (True, "case ds/c1: pytest used")
    assert run({"python": f"{mod}:as_tuple"}, "x").reason == "case ds/c1: pytest absent"
    assert run({"python": f"{mod}:as_list"}, "x").reason == "listed"


def test_python_check_returning_a_dict(mod):
    result = run({"python": f"{mod}:as_dict"}, "Ünïcödé 🚀")
    assert (result.passed, result.reason, result.score) == (True, "9 characters", 0.25)
    assert run({"python": f"{mod}:as_dict"}, "x" * MB).passed is False
    assert run({"python": f"{mod}:as_passed_dict"}, "").passed is True


def test_python_check_that_raises_is_an_error_naming_the_function(mod):
    result = run({"python": f"{mod}:boom"}, "anything")
    assert result.passed is None
    assert f"{mod}:boom" in result.error and "RuntimeError: kaboom" in result.error
    assert result.reason


@pytest.mark.parametrize(
    "function, words",
    [
        ("weird", ["returned 'yes'", "return a bool"]),
        ("bad_score", ["score 'high'", "not a number"]),
        ("NOT_CALLABLE", ["'NOT_CALLABLE' is not a function"]),
        ("as_boll", ["no function 'as_boll'", "did you mean 'as_bool'?"]),
    ],
)
def test_python_check_misuse_is_an_error(mod, function, words):
    result = run({"python": f"{mod}:{function}"}, "x")
    assert result.passed is None
    assert f"{mod}:{function}" in result.error
    for word in words:
        assert word in result.error


def test_python_check_with_a_missing_module():
    result = run({"python": "surely_absent_module_y:check"}, "x")
    assert result.passed is None
    assert "'surely_absent_module_y:check'" in result.error
    assert "cannot import module 'surely_absent_module_y'" in result.error
    assert "ModuleNotFoundError" in result.error


def test_python_check_whose_module_fails_to_import(tmp_path, monkeypatch):
    name = f"brokenchecks_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text("import surely_absent_dependency_z\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run({"python": f"{name}:fn"}, "x")
    assert result.passed is None and "surely_absent_dependency_z" in result.error
    assert name not in sys.modules


# --- python: checks only run trusted code ----------------------------------------------------

HOSTILE = "with open('pwned.txt', 'w') as f: f.write('ran')"


def test_an_untrusted_python_check_is_an_error_saying_how_to_allow_it(tmp_path):
    result = run_check(one({"python": "builtins:exec"}), HOSTILE, CASE)
    assert result.passed is None
    assert not (tmp_path / "pwned.txt").exists()  # the recorded output was never executed
    assert "'builtins' is not trusted" in result.error
    assert "outputs.trusted_check_modules" in result.error
    assert "--allow-python-checks" in result.error
    assert result.reason


def test_a_trusted_module_runs_and_its_submodules_too(mod):
    trust = CheckTrust.parse([mod])
    assert run_check(one({"python": f"{mod}:as_bool"}), "def test_a", CASE, trust=trust).passed
    assert run_check(one({"python": f"{mod}:Grader.check"}), "", CASE, trust=trust).passed
    assert trust.allows(f"{mod}.sub") and not trust.allows(f"{mod}x") and not trust.allows("os")
    other = CheckTrust.parse(["somewhere_else"])
    refused = run_check(one({"python": f"{mod}:as_bool"}), "def test_a", CASE, trust=other)
    assert refused.passed is None and f"'{mod}' is not trusted" in refused.error


def test_a_trusted_module_cannot_lend_out_what_it_imported(mod, tmp_path):
    trust = CheckTrust.parse([mod])
    for target in (f"{mod}:builtins.exec", f"{mod}:_exec", f"{mod}:__builtins__"):
        result = run_check(one({"python": target}), HOSTILE, CASE, trust=trust)
        assert result.passed is None, target
        assert not (tmp_path / "pwned.txt").exists(), target
    result = run_check(one({"python": f"{mod}:builtins.exec"}), HOSTILE, CASE, trust=trust)
    assert "defined in 'builtins', not in a trusted module" in result.error


def test_allowing_every_python_check():
    trust = CheckTrust.parse(["*"])
    assert trust.allow_all and trust.allows("anything.at_all")
    result = run_check(one({"python": "operator:eq"}), "x", CASE, trust=trust)
    assert (result.passed, result.reason) == (False, "operator:eq returned False")  # it ran
    refused = run_check(one({"python": "operator:eq"}), "x", CASE)
    assert refused.passed is None and "not trusted" in refused.error


@pytest.mark.parametrize("bad", ["my checks", "mychecks:fn", "", "mychecks.*", "../x"])
def test_a_trusted_module_entry_must_be_a_module_name(bad):
    with pytest.raises(ValueError, match="module name"):
        CheckTrust.parse([bad])


def _hostile_project(root: Path, trusted: list[str] | None = None) -> Path:
    """A dataset whose check would exec its recorded output, graded offline."""
    import yaml

    (root / "agents").mkdir()
    (root / "agents" / "sql.md").write_text(
        "---\nname: sql\ndescription: Use this agent to write SQL.\n---\n\nYou write SQL.\n"
    )
    (root / "datasets").mkdir()
    cases = [
        {
            "id": "py",
            "prompt": "Write a query.",
            "expected": "sql",
            "checks": [{"python": "builtins:exec"}],
        }
    ]
    (root / "datasets" / "ds.yaml").write_text(yaml.safe_dump({"cases": cases}))
    line = {"case_id": "ds/py", "output": HOSTILE}
    (root / "recorded.jsonl").write_text(json.dumps(line) + "\n")
    outputs: dict[str, object] = {"recorded": "recorded.jsonl"}
    if trusted is not None:
        outputs["trusted_check_modules"] = trusted
    config = {
        "name": "hostile",
        "agents": ["agents"],
        "datasets": ["datasets/ds.yaml"],
        "examples": False,
        "holdout": "none",
        "router": {"backend": "lexical"},
        "outputs": outputs,
    }
    (root / "eval.yaml").write_text(yaml.safe_dump(config))
    return root / "eval.yaml"


def _graded_check(root: Path) -> dict:
    (run_dir,) = (p.parent for p in (root / "reports").glob("*/outputs.jsonl"))
    (line,) = (run_dir / "outputs.jsonl").read_text().splitlines()
    (check,) = json.loads(line)["checks"]
    return check


def test_a_dataset_cannot_run_its_recorded_output_through_a_python_check(tmp_path):
    from click.testing import CliRunner

    from agenteval.cli import main

    result = CliRunner().invoke(main, ["run", str(_hostile_project(tmp_path))])
    assert not (tmp_path / "pwned.txt").exists()
    check = _graded_check(tmp_path)
    assert check["passed"] is None and "--allow-python-checks" in check["error"]
    (run_dir,) = (p.parent for p in (tmp_path / "reports").glob("*/outputs.jsonl"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["outputs"]["scorecard"]["errors"] == 1  # counted, not skipped unseen
    assert "not trusted" in (run_dir / "report.md").read_text()
    assert result.exit_code in (0, 1), result.output


@pytest.mark.parametrize("how", ["config", "flag"])
def test_the_eval_config_or_the_flag_lets_python_checks_run(tmp_path, how):
    from click.testing import CliRunner

    from agenteval.cli import main

    path = _hostile_project(tmp_path, trusted=["builtins"] if how == "config" else None)
    args = ["run", str(path)] + (["--allow-python-checks"] if how == "flag" else [])
    result = CliRunner().invoke(main, args)
    assert (tmp_path / "pwned.txt").read_text() == "ran", result.output
    assert "not trusted" not in json.dumps(_graded_check(tmp_path))


def test_a_bad_trusted_module_entry_names_the_config_line(tmp_path):
    from agenteval.config import load_config
    from agenteval.errors import ConfigError

    path = _hostile_project(tmp_path, trusted=["my checks"])
    with pytest.raises(ConfigError, match=r"eval.yaml:\d+: .*trusted_check_modules.*module name"):
        load_config(path)


# --- a pattern that backtracks without end is a grading error, not a hung run (issue 21 D.3) ---


def test_a_nested_quantifier_on_a_near_miss_answers_at_once():
    from agenteval.cases.checks import REGEX_TIMEOUT_S

    started = time.monotonic()
    result = run({"regex": "^(a+)+$"}, "a" * 32 + "!")
    assert (result.passed, result.error) == (False, None)
    assert time.monotonic() - started < REGEX_TIMEOUT_S


def test_a_regex_that_runs_past_its_time_limit_is_a_grading_error():
    from agenteval.cases.checks import REGEX_TIMEOUT_S

    started = time.monotonic()
    result = run({"regex": "^(a|aa)+$"}, "a" * 64 + "!")
    assert result.passed is None
    assert result.error is not None and "time limit" in result.error
    assert time.monotonic() - started < REGEX_TIMEOUT_S * 10
