"""The HTML report as a person sees it, in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (CI installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
from stub_anthropic import Reply, StubAnthropic  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "CI must install Debian's chromium (see .ci/run)"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def run_report(args: list[str], env: dict[str, str] | None = None) -> Path:
    """Run in a subprocess: Playwright's sync API owns this thread's event loop."""
    exe = Path(sys.executable).with_name("agenteval")
    proc = subprocess.run(
        [str(exe), "run", "--plain", "--out", "reports", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode in (0, 1), proc.stderr
    (run,) = [p for p in Path("reports").iterdir() if p.is_dir()]
    return (run / "report.html").resolve()


def test_laywill_report_in_a_browser(browser, laywill, tmp_path):
    report = run_report(["--agents", str(laywill), "--router", "lexical"])
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    rows = page.locator("#agents tbody tr")
    assert rows.count() == 214  # 213 agents + none
    assert page.locator("#heatmap").is_visible()
    assert page.locator("#misroutes tbody tr").count() > 0

    # sorting by recall puts the lowest first, and again reverses it
    page.click("#agents th:has-text('recall') >> nth=0")
    values = [
        float(v)
        for v in page.locator("#agents tbody tr td:nth-child(4)").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-v'))"
        )
    ]
    assert values == sorted(values)
    page.click("#agents th:has-text('recall') >> nth=0")
    values = [
        float(v)
        for v in page.locator("#agents tbody tr td:nth-child(4)").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-v'))"
        )
    ]
    assert values == sorted(values, reverse=True)

    # filtering keeps the matching rows only
    page.fill("#agent-filter", "python")
    visible = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(visible) < 214
    assert all("python" in r.inner_text().lower() for r in visible)
    page.fill("#agent-filter", "")

    # misroutes: folded by pair, paths relative to the catalog
    sources = page.locator("#misroutes .src").all_text_contents()
    assert sources and not any(s.strip().startswith("/") for s in sources)

    # a top pair explains itself: cases both ways, both descriptions, shared terms marked
    pair = page.locator("#confusions tr.pair").first
    expected, got, count = (pair.locator("td").nth(i).inner_text() for i in range(3))
    panel = page.locator("#explain")
    assert not panel.is_visible()
    pair.click()
    assert panel.is_visible()
    assert expected in panel.inner_text() and got in panel.inner_text()
    assert panel.locator(".desc").count() == 2
    marks = panel.locator(".desc mark").all_inner_texts()
    assert marks, "two confused agents share no marked term?"
    shared = {m.lower() for m in panel.locator(".desc").nth(0).locator("mark").all_inner_texts()}
    assert shared == {
        m.lower() for m in panel.locator(".desc").nth(1).locator("mark").all_inner_texts()
    }
    ways = panel.locator(".way")
    assert ways.count() == 2
    assert ways.nth(0).locator("tr").count() - 1 == int(count)  # header row + one per case
    assert f"expected {got}, got {expected}" in ways.nth(1).inner_text()  # the other way too
    page.screenshot(path=str(tmp_path / "laywill-explain.png"), full_page=False)

    # a heatmap cell does the same; the "other" cell lists where the cases went
    cell = page.locator("#heatmap td.hit[data-g='']").first
    cell.click()
    assert "went to a label not shown" in panel.inner_text()
    rows_shown = panel.locator(".way tr").count() - 1
    assert rows_shown == int(cell.inner_text())
    page.locator("#heatmap td.hit:not([data-g=''])").first.press("Enter")
    assert panel.locator(".desc").count() == 2
    panel.locator("button.close").click()
    assert not panel.is_visible()
    page.screenshot(path=str(tmp_path / "laywill.png"), full_page=False)
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests  # no network assets


def test_laywill_misroutes_fold_by_pair_and_every_row_leads_to_why(browser, laywill):
    from agenteval.record.store import load_record
    from agenteval.reports.html import MISROUTE_PAIRS_SHOWN

    report = run_report(["--agents", str(laywill), "--router", "lexical"])
    card = load_record(report.parent).scorecard
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    groups = page.locator("#misroutes details.mgroup")
    counts = [int(g.get_attribute("data-n") or 0) for g in groups.all()]
    assert counts == sorted(counts, reverse=True) and sum(counts) == len(
        page.locator("#misroutes tbody tr").all()
    )
    assert page.locator("#misroutes details[open]").count() == 0  # folded
    shown = [g for g in groups.all() if g.is_visible()]
    assert len(shown) == MISROUTE_PAIRS_SHOWN < groups.count()
    height = page.evaluate("document.body.scrollHeight")
    page.click("#misroute-more")
    assert all(g.is_visible() for g in groups.all())
    assert page.evaluate("document.body.scrollHeight") > height

    # the filter opens the pairs it matches and counts their cases
    page.fill("#misroute-filter", "mobile")
    opened = page.locator("#misroutes details[open]")
    assert opened.count() > 0
    assert all("mobile" in g.inner_text().lower() for g in opened.all())
    assert page.locator("#misroute-count").inner_text().endswith(" misroutes")
    page.fill("#misroute-filter", "")
    assert page.locator("#misroutes details[open]").count() == 0

    # a misroute row opens the pair's Why panel beside it, the held-out example marked
    first = groups.first
    first.locator("summary").click()
    first.locator("tbody tr").first.click()
    panel = page.locator("#explain")
    assert panel.is_visible()
    beside = page.evaluate("document.getElementById('explain').previousElementSibling.className")
    assert beside == "mgroup"
    e, g = first.get_attribute("data-e"), first.get_attribute("data-g")
    assert f"expected {e}, got {g}" in panel.inner_text()
    held = panel.locator(".desc .held")
    assert held.count() >= 1
    assert "held out: the router did not see this example" in held.first.inner_text()
    case_request = first.locator("tbody tr td.req").first.inner_text()
    assert case_request in panel.locator(".desc").first.inner_text()

    # a Why button does the same without unfolding the pair
    second = groups.nth(1)
    second.locator("button.why-btn").click()
    assert not second.evaluate("d => d.open")
    assert f"expected {second.get_attribute('data-e')}, got" in panel.inner_text()

    # an agent row opens its Why panel: the cases it lost and the cases it took
    name = e
    page.locator(f"#agents tr.pick[data-a='{name}']").click()
    recall = card.agent(name).recall
    lost = recall.n - recall.k
    ways = panel.locator(".way")
    assert ways.count() == 2
    assert ways.nth(0).locator("tr").count() - 1 == lost
    assert panel.locator(".desc").count() == 1
    assert page.locator("#agents tr:not(.pick)").count() > 0  # rows without misroutes stay plain

    # column headers say the whole name on hover; the top pairs say how many there are
    heads = page.locator("#heatmap th.colh")
    assert all(h.get_attribute("title") == h.inner_text() for h in heads.all()[:10])
    top = page.locator("h2:has-text('Top confused')").inner_text()
    assert f"({len(card.top_confusions)} of " in top
    assert errors == []


def test_hostile_text_is_escaped(browser, tmp_path):
    agents = tmp_path / "agents"
    agents.mkdir()
    evil = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">'
    (agents / "evil.md").write_text(
        "---\nname: evil-agent\n"
        f'description: \'Handles {evil.replace(chr(39), chr(39) * 2)} <example>user: "{evil.replace(chr(34), chr(39))}" '  # noqa: E501
        "assistant: ok</example>'\n---\nbody\n"
    )
    (agents / "plain.md").write_text(
        '---\nname: plain-agent\ndescription: "Formats SQL. <example>user: \\"format my sql\\" '
        'assistant: ok</example>"\n---\nbody\n'
    )
    (tmp_path / "ds.yaml").write_text(
        "cases:\n  - id: x\n    prompt: '"
        + evil.replace("'", "''")
        + "'\n    expected: plain-agent\n"
    )
    report = run_report(
        ["--agents", str(agents), "--dataset", str(tmp_path / "ds.yaml"), "--holdout", "none"]
    )
    page = browser.new_page()
    page.goto(report.as_uri())
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0
    # the explain panel shows the hostile description and request as text, never as markup
    cells = page.locator("#heatmap td.hit")
    assert cells.count() > 0
    for i in range(cells.count()):
        cells.nth(i).click()
        assert page.evaluate("window.pwned") is None
        assert page.locator("#explain img").count() == 0
    page.locator("#confusions tr.pair").first.click()
    assert evil in page.locator("#explain").inner_text()  # the evil agent's description, shown
    assert page.evaluate("window.pwned") is None
    html = report.read_text()
    assert "<script>window.pwned" not in html and 'onerror="window' not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html  # shown, as text


def test_hostile_model_answer_is_escaped(browser, demo_project):
    """The model's rationale and an invalid agent name it made up are shown, never run."""
    evil = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">'
    with StubAnthropic(responder=lambda req: Reply.route(evil, rationale=evil)) as stub:
        report = run_report(
            ["--router", "anthropic", "--limit", "3"],
            env={"ANTHROPIC_API_KEY": "sk-ant-test-escape", "ANTHROPIC_BASE_URL": stub.base_url},
        )
    page = browser.new_page()
    page.goto(report.as_uri())
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#misroutes tbody tr").count() == 3  # invalid: each one a misroute
    for summary in page.locator("#misroutes details.mgroup summary").all():
        summary.click()  # unfold every pair: a folded one's rows are not shown text
    assert "<script>window.pwned=1</script>" in page.locator("#misroutes").inner_text()
    assert page.evaluate("window.pwned") is None


def test_review_page_accepts_rejects_and_exports_a_dataset_that_loads(browser, tmp_path):
    from agenteval.cases.datasets import load_dataset
    from agenteval.improve.dataset import review_html
    from agenteval.improve.generate import GeneratedCase, Generation

    def case(i: int, prompt: str) -> GeneratedCase:
        return GeneratedCase(
            id=f"c{i}",
            prompt=prompt,
            expected="none",
            kind="none",
            agent="a",
            file="agents/a.md",
            sha256="0" * 64,
            model="claude-test",
        )

    hostile = 'He said "</script><b>hi</b>" \\ and: yes\nsecond line'
    generation = Generation(
        cases=(case(1, "keep me"), case(2, "drop me"), case(3, hostile)), model="claude-test"
    )
    page_path = tmp_path / "gen.review.html"
    page_path.write_text(review_html(generation, tmp_path, "gen.yaml"), encoding="utf-8")
    page = browser.new_page(accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri())
    rows = page.locator("#rows tr")
    assert rows.count() == 3 and page.locator("#rows b").count() == 0
    rows.nth(0).get_by_role("button", name="accept").click()
    rows.nth(1).get_by_role("button", name="reject").click()
    assert "1 accepted, 1 rejected, 1 pending" in page.locator("#counts").inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export reviewed YAML").click()
    exported = tmp_path / "gen.reviewed.yaml"
    download.value.save_as(exported)
    assert not errors
    loaded = load_dataset(exported)
    assert [c.prompt for c in loaded.cases] == ["keep me", hostile]
    assert loaded.rejected == 1 and {c.origin for c in loaded.cases} == {"generated"}
