"""Text from outside reaches every output escaped for it (issue 11, item 14).

Hostile strings (rich markup, Markdown control, `|`, newlines, NUL, ESC and other C0/C1
controls, bidi overrides, `]]>`, `<script>`, very long strings) go in as agent names,
descriptions, prompts, model rationales and API error messages, through the real CLI and the
loopback stub; every output format is parsed and checked for injected structure.
"""

from __future__ import annotations

import json
import re
import tempfile
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.text import Text
from stub_anthropic import Reply, StubAnthropic, StubRequest

from agenteval.cli import main
from agenteval.text import (
    _UNSAFE,
    _UNSAFE_LINE,
    _shown,
    for_rich,
    for_terminal,
    for_xml,
    md_code,
    md_text,
    visible,
)

FRAGMENTS = [
    "[/]",
    "[bold red]",
    "docs[/]writer",
    "[link=file:///etc/passwd]x[/link]",
    "\x1b[31m",
    "\x1b]8;;http://evil\x07",
    "\x00",
    "\x07",
    "\x9b",
    "\x85",
    "\x7f",
    "\u202e",
    "\n## injected\n",
    "\r\n",
    "\t",
    "|",
    "| x |",
    "`",
    "``",
    "**",
    "_",
    "\\",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "]]>",
    "&amp;",
    "<!--",
    "\ufffe",
    ":warning:",
    "[link](http://evil)",
    "- [ ] ",
    "> quote",
]
hostile = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=1, max_size=6
).map("".join)
# what a model or an API may send besides: a lone surrogate (valid as a JSON escape)
model_text = st.one_of(hostile, hostile.map(lambda s: s + "\ud800"))
# C0/C1, DEL, bidi and XML-forbidden characters: none may reach a terminal or a file raw
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)
MD = MarkdownIt("commonmark").enable("table")


# --- the escaping functions ------------------------------------------------------------------


@given(st.one_of(hostile, st.text(alphabet=st.characters(max_codepoint=0x7F)), model_text))
@example("two\nlines\tand a tab")
@example("a\r\nwindows line\rand a lone CR")
@example("\x1b[31mred\x1b[0m\n")
def test_visible_writes_out_what_the_pattern_finds_and_nothing_else(s):
    """`visible`'s fast paths (plain ASCII, and ASCII whose only controls are the newlines and
    tabs a multi-line text keeps) return exactly what the full substitution would."""
    multiline = _UNSAFE.sub(_shown, s.replace("\r\n", "\n"))
    assert visible(s, multiline=True) == multiline
    assert visible(s) == _UNSAFE_LINE.sub(_shown, s)


@given(hostile)
@example("docs[/]writer\\")
def test_rich_markup_shows_the_text_as_written(s):
    markup = f"[bold]{for_rich(s)}[/] and [red]{for_rich(s)}[/]"
    assert Text.from_markup(markup, emoji=False).plain == (  # consoles print with emoji=False
        f"{for_terminal(s)} and {for_terminal(s)}"
    )
    assert not RAW_CONTROL.search(for_terminal(s)) and "\n" not in for_terminal(s)


def _inline(markdown: str) -> list:
    tokens = MD.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], markdown
    return tokens[1].children


@given(hostile)
@example("`x`")
@example(" a ")
@example("")
def test_a_markdown_code_span_holds_exactly_the_text(s):
    (child,) = _inline(f"got {md_code(s)}")[1:]
    assert child.type == "code_inline" and child.content == (visible(s) or " ")


@given(hostile)
@example("x\\")
def test_markdown_text_stays_plain_text(s):
    children = _inline(f"why: {md_text(s)} end")
    assert {c.type for c in children} <= {"text"}, [c.type for c in children]
    shown = re.sub(r"@|#(?=\d)|(?i:\bgh-)(?=\d)", lambda m: m.group(0) + "\u200b", visible(s))
    assert "".join(c.content for c in children) == f"why: {shown} end"


@given(hostile)
@example("ask @octocat or @org/team about #12 and org/repo#3")
@example("fixed in GH-12, see gh-7 (issue 21 D.7)")
def test_markdown_text_mentions_nobody_and_links_no_issue(s):
    """GitHub links `@name` (notifying that user), `#12` and `GH-12` after Markdown, so escaping
    cannot stop them: the text a reader sees has a zero-width space after each `@`, such `#`
    and such `GH-`."""
    text = "".join(c.content for c in _inline(f"why: {md_text(s)} end"))
    assert not re.search(r"@[A-Za-z0-9]|#\d|\bgh-\d", text, re.IGNORECASE)


@given(hostile, hostile)
def test_table_cells_stay_in_their_column(a, b):
    row = f"| {md_code(a, table=True)} | {md_text(b)} |"
    tokens = MD.parse(f"| a | b |\n|---|---|\n{row}\n")
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 2 and [t.type for t in tokens if t.type.startswith("html")] == []


@given(hostile)
def test_xml_holds_any_text(s):
    element = ET.Element("failure", message=for_xml(s))
    element.text = for_xml(s)
    back = ET.fromstring(ET.tostring(element, encoding="unicode"))
    assert (back.text or "") == for_xml(s) and back.get("message") == for_xml(s)
    assert not RAW_CONTROL.search(back.get("message") or "")


# --- hostile text through every output format -------------------------------------------------

KEY = "sk-ant-test-escaping-0123456789"
PLAIN = "plain-agent"
TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "agenteval" / "reports" / "templates"
_SOURCE = "".join(p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.j2"))
ALLOWED_TAGS = set(re.findall(r"<([a-z][a-z0-9]*)", _SOURCE))  # what the templates write
SCRIPTS = _SOURCE.count("<script")


def _quoted(text: str) -> str:
    # a JSON string is a YAML double-quoted scalar; non-BMP characters stay as they are,
    # since YAML reads a JSON surrogate pair as two lone surrogates
    return json.dumps(text, ensure_ascii=False)


def _project(root: Path, name: str, description: str, prompt: str) -> tuple[Path, str]:
    """The project, and the hostile agent's name as the catalog reads it (YAML folds some
    characters, such as NEL, into spaces)."""
    from agenteval.catalog import parse_agent_file

    (root / "agents").mkdir()
    # JSON strings are YAML double-quoted scalars: any character can be written
    (root / "agents" / "hostile.md").write_text(
        f"---\nname: {_quoted(name)}\ndescription: {_quoted('Use this agent: ' + description)}"
        "\n---\n\nYou are hostile.\n",
        encoding="utf-8",
    )
    agent, _ = parse_agent_file(root / "agents" / "hostile.md")
    assert agent is not None and agent.name != PLAIN  # "a...z" is never skipped
    name = agent.name
    (root / "agents" / f"{PLAIN}.md").write_text(
        f"---\nname: {PLAIN}\ndescription: Use this agent for plain work.\n---\n\nYou are plain.\n"
    )
    lines = [
        {"id": f"c{i}", "prompt": f"{prompt} ⟦{i}⟧", "expected": expected}
        for i, expected in enumerate([name, PLAIN, PLAIN, name])
    ]
    (root / "ds.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    config = {
        "name": "esc",
        "agents": ["agents"],
        "datasets": ["ds.jsonl"],
        "examples": False,
        "holdout": "none",
        "router": {"backend": "anthropic"},
    }
    (root / "eval.yaml").write_text(yaml.safe_dump(config))
    return root / "eval.yaml", name


def _responder(names: list[str], rationale: str, error: str, flip: list[bool]):
    def respond(req: StubRequest) -> Reply:
        name = names[0]
        i = int(req.prompt.rsplit("⟦", 1)[1][0])
        if i == 2:
            return Reply.error(400, message=f"bad request: {error}")
        if i == 3:
            return Reply.route(f"{name}-nope", rationale=rationale)  # a name not listed
        wrong = (i == 0) != flip[0]
        return Reply.route(PLAIN if wrong else name, rationale=rationale)

    return respond


@contextmanager
def _folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _check_terminal(result, what: str) -> None:
    shown = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        what,
        result.exception,
    )
    assert not RAW_CONTROL.search(shown), (what, shown)


def _check_markdown(text: str, headings: tuple[str, ...], what: str) -> None:
    assert not RAW_CONTROL.search(text), what
    tokens = MD.parse(text)
    assert not [t for t in tokens if t.type.startswith("html")], what
    inline = [t for t in tokens if t.type == "inline"]
    for open_, content in zip(tokens, tokens[1:], strict=False):
        if open_.type == "heading_open":
            assert content.content.startswith(headings), (what, content.content)
    for child in (c for t in inline for c in t.children or ()):
        assert not child.type.startswith("html"), (what, child)
        assert child.type not in ("link_open", "image"), (what, child)  # report.md has none
    header_cells = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header_cells = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        header_cells = header_cells or cells
        assert cells == header_cells, (what, line)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.data_block = False

    def handle_data(self, data):
        if self.lasttag == "script" and not self.data_block:  # code, not a JSON data block
            self.scripts.append(data)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.data_block = tag == "script" and ("type", "application/json") in attrs
        for key, _ in attrs:
            assert not key.startswith("on"), (tag, key)


def _check_html(text: str, what: str) -> None:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    assert set(parser.tags) <= ALLOWED_TAGS, (what, set(parser.tags) - ALLOWED_TAGS)
    assert parser.tags.count("script") <= SCRIPTS, what  # the templates' own scripts only
    assert "alert(1)" not in "".join(parser.scripts), what  # nothing of ours runs as code


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=hostile, description=hostile, prompt=hostile, rationale=model_text, error=model_text)
@example(
    name="docs[/]writer\x1b[31m\x00|\n## injected",
    description="<script>alert(1)</script> ]]>",
    prompt="| a | b |\n## heading \x1b]8;;x\x07",
    rationale="[bold]\x85\u202e\ud800" + "x" * 600,
    error="[/] `` <b>\x00",
)
def test_hostile_text_reaches_every_output_escaped(
    monkeypatch, name, description, prompt, rationale, error
):
    flip, names = [False], [""]  # the name as read, once the catalog is written
    with (
        _folder() as root,
        StubAnthropic(responder=_responder(names, rationale, error, flip)) as stub,
    ):
        monkeypatch.chdir(root)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(root / "cache"))
        path, names[0] = _project(root, f"a{name}z", description, prompt)
        runner = CliRunner()
        for command in (
            ["cases", str(path)],
            ["cases", str(path), "--json"],
            ["lint", str(path)],
            ["lint", str(path), "--json"],
        ):
            _check_terminal(runner.invoke(main, command), command[0])
        first = runner.invoke(main, ["run", str(path), "--plain"])
        _check_terminal(first, "run")
        assert "report:" in first.output, first.output  # the summary printed to the end
        flip[0] = True
        second = runner.invoke(main, ["run", str(path), "--plain", "--no-cache"])
        _check_terminal(second, "second run")
        run_a, run_b = sorted(p for p in (root / "reports").iterdir() if p.is_dir())
        compared = runner.invoke(main, ["compare", str(run_a), str(run_b)])
        _check_terminal(compared, "compare")
        assert compared.exit_code == 0, compared.output
        headings = (
            "agenteval: ",
            "Gates",
            "Worst agents",
            "Top confusions",
            "Outputs",
            "Misroutes",
            "Cases that can never route (",
            "Errors (",
            "Newly broken (",
            "Fixed (",
            "Per-agent",
            "Agreement",
        )
        for run in (run_a, run_b):
            _check_markdown((run / "report.md").read_text(encoding="utf-8"), headings, "report")
            junit = (run / "junit.xml").read_text(encoding="utf-8")
            assert not RAW_CONTROL.search(junit)
            ET.fromstring(junit)  # well-formed
            _check_html((run / "report.html").read_text(encoding="utf-8"), "report.html")
        _check_markdown((run_b / "compare.md").read_text(encoding="utf-8"), headings, "compare")
        _check_html((run_b / "compare.html").read_text(encoding="utf-8"), "compare.html")


def test_the_summary_survives_markup_in_a_name_and_an_error(tmp_path, monkeypatch):
    """The reported crash: `docs[/]writer` made rich raise and the summary stopped (exit 1)."""
    name, error = "docs[/]writer", "quota [/] exceeded"
    with StubAnthropic(responder=_responder([name], "[/]", error, [False])) as stub:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        path, _ = _project(tmp_path, name, "d", "p")
        result = CliRunner().invoke(main, ["run", str(path), "--plain"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "report:" in result.output and "docs[/]writer" in result.output, result.output
    console = Console(file=StringIO())
    console.print(f"[bold]{for_rich(name)}[/]")
    assert "docs[/]writer" in console.file.getvalue()
