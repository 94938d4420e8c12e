"""The report's HTML is rendered by Jinja2 templates with autoescaping, found through importlib.resources:
hostile names from the data never become markup, in any page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from reports.publish import compare_districts, compare_page, publish_report
from reports.templating import environment, render
from tests.test_publish import RUN_META, load_estimates, make_codebook, make_comparisons

HOSTILE = '<script>alert("x")</script> & Co'
REPORTS = Path(__file__).resolve().parents[1] / "reports"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    est = load_estimates()
    est["district"] = est["district"].replace({"Duvbo": HOSTILE})
    cmp = make_comparisons(est, ((HOSTILE, "Rissne"),))
    meta = {**RUN_META, "title": "Trygghet <b>i</b> kommunen", "run_id": "r<1>"}
    out = tmp_path_factory.mktemp("hostile") / "report"
    res = publish_report(
        est, cmp, None, make_codebook(), meta, out, formats=("html",), charts=False, compare=[(HOSTILE, "Rissne")]
    )
    return res, est, cmp


def test_templates_come_from_the_package_and_autoescape():
    env = environment()
    assert env.autoescape("anything.html") is True
    src, _, _ = env.loader.get_source(env, "base.html")
    assert "<!DOCTYPE html>" in src
    assert (
        render("table.html", title="<i>", back_link=None, wide=False, tables=["<b>raw</b>"]).count(
            "&lt;b&gt;raw&lt;/b&gt;"
        )
        == 1
    )


def test_hostile_names_are_escaped_in_every_page(hostile_run):
    res, _, _ = hostile_run
    pages = res.paths(fmt="html")
    assert len(pages) >= 8 and res.index in pages
    for p in pages:
        text = p.read_text(encoding="utf-8")
        if p.name == "jamfor.html":  # its own two scripts (data, code); the name only as JSON text
            assert text.count("<script") == 2 and text.count("</script") == 2, p
            assert '\\u003cscript\\u003ealert(\\"x\\")\\u003c/script\\u003e \\u0026 Co' in text
        else:
            assert "<script" not in text, p
        assert "<b>i</b>" not in text and "r<1>" not in text, p
    index = res.index.read_text(encoding="utf-8")
    assert "Trygghet &lt;b&gt;i&lt;/b&gt; kommunen" in index and "r&lt;1&gt;" in index
    district = (res.out_dir / "tables" / "district_unsafe_after_dark.html").read_text(encoding="utf-8")
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in district
        or "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in district
    )


def test_compare_page_escapes(hostile_run):
    _, est, cmp = hostile_run
    c = compare_districts(est, cmp, HOSTILE, "Rissne", years=[2024])
    page, _ = compare_page(c, None, HOSTILE, "Rissne", RUN_META)
    assert "<script" not in page and "&lt;script&gt;" in page


def test_no_html_is_built_from_strings_in_python():
    """Every tag in the publishing code lives in a template: no string literal in reports/*.py (except the
    scanner, which parses HTML) contains markup."""
    tag = re.compile(r"<\s*/?\s*(html|head|body|main|div|span|p|a|ul|li|table|tr|td|th|h[1-6]|img|figure|br)\b", re.I)
    found = []
    for path in sorted(REPORTS.glob("*.py")):
        if path.name == "scan.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and tag.search(node.value)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert found == []


def test_every_template_is_package_data():
    pyproject = (REPORTS.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"reports" = ["templates/*"' in pyproject
    names = {p.name for p in (REPORTS / "templates").iterdir()}
    assert {"base.html", "table.html", "compare.html", "index.html", "cell.html", "report.css", "cell.css"} <= names
