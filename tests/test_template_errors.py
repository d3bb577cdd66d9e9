"""A broken template is a `templates/x.html:line: message` in build, check and the preview alike
(theme.template_error, one place): exit 1, nothing written, never a Python traceback (issue 15)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from conftest import FIXTURE_DAY
from legalsite.pipeline import Project
from legalsite.preview import Builder

NOTHING_WRITTEN = "1 problem found; nothing was written. Fix them and run the command again."

# template, the line inserted after '{% block main %}' (so on line 5 of history.html), the message
CASES = {
    "undefined variable": (
        "history.html", "{{ polcy.title }}",
        "templates/history.html:5: 'polcy' is undefined: check the spelling; a template sees only what the build "
        "passes it (render.py) and what it sets itself"),
    "syntax error": (
        "history.html", "{% if %}",
        "templates/history.html:5: template syntax error: Expected an expression, got 'end of statement block': "
        "fix the tag or expression on this line"),
    "failing filter": (
        "history.html", "{{ 3|human_date }}",
        "templates/history.html:5: the expression or filter on this line failed: AttributeError: 'int' object has "
        "no attribute 'day'"),
    "missing include": (
        "history.html", '{% include "missing.html" %}',
        "templates/history.html:5: template not found: missing.html: create it in templates/, or fix the name"),
    "undefined in the base template": (
        "base.html", "{{ sitename }}",
        None),  # its line is where '{% block main %}' sits in base.html, found below
}


def break_template(site, name: str, line: str) -> str:
    """Insert ``line`` after the template's '{% block main %}' line; returns the message's place."""
    path = site / "templates" / name
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(i for i, text in enumerate(lines) if "{% block main %}" in text) + 1
    lines.insert(at, line)
    path.write_text("\n".join(lines), encoding="utf-8")
    return f"templates/{name}:{at + 1}"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["build", "check"])
def test_a_template_error_is_file_and_line_and_nothing_is_written(site, cli, case, command):
    name, line, message = CASES[case]
    assert cli("build", "--as-of", FIXTURE_DAY, "--no-cache")[0] == 0
    before = {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}
    place = break_template(site, name, line)
    if message is None:
        message = (f"{place}: 'sitename' is undefined: check the spelling; a template sees only what the build passes "
                   "it (render.py) and what it sets itself")
    assert message.startswith(place + ": ")
    args = (command, "--as-of", FIXTURE_DAY) + (("--out", "fresh") if command == "build" else ())
    code, out, err = cli(*args)
    assert (code, out, err) == (1, "", f"{message}\n{NOTHING_WRITTEN}\n")
    assert not (site / "fresh").exists()
    # An existing output folder is left as it was, with a store too.
    code, _, err = cli("build", "--as-of", FIXTURE_DAY, "--cache", str(site / ".cache"))
    assert (code, err) == (1, f"{message}\n{NOTHING_WRITTEN}\n")
    assert {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_preview_reports_the_same_place(site, case):
    name, line, message = CASES[case]
    place = break_template(site, name, line)
    outcome = Builder(Project.at(site), as_of=dt.date.fromisoformat(FIXTURE_DAY)).build()
    assert not outcome.ok
    assert [str(e) for e in outcome.errors][0].startswith(place + ": ")
    if message is not None:
        assert [str(e) for e in outcome.errors] == [message]


def test_diff_reports_a_broken_standalone_template(site, cli):
    path = site / "templates/diff-standalone.html"  # one template, without blocks: break its first line
    path.write_text("{{ nosuch }}\n" + path.read_text())
    place = "templates/diff-standalone.html:1"
    code, out, err = cli("diff", "privacy", "--as-of", FIXTURE_DAY)
    assert (code, out, err) == (1, "", (
        f"{place}: 'nosuch' is undefined: check the spelling; a template sees only what the build passes it "
        f"(render.py) and what it sets itself\n{NOTHING_WRITTEN}\n"))
    assert not (site / "_diff").exists()


MISSING = {
    "templates folder": ("templates", "templates:1: templates folder not found: create it, or pass --templates PATH"),
    "assets folder": ("templates/assets",
                      "templates/assets:1: assets folder not found: create it: it holds the stylesheets"),
}


@pytest.mark.parametrize("case", sorted(MISSING))
@pytest.mark.parametrize("command", ["build", "check"])
def test_a_missing_templates_folder_is_an_error_not_a_traceback(site, cli, case, command):
    folder, message = MISSING[case]
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    before = {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}
    shutil.rmtree(site / folder)
    code, out, err = cli(command, "--as-of", FIXTURE_DAY)
    assert (code, out, err) == (1, "", f"{message}\n{NOTHING_WRITTEN}\n")
    assert {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()} == before
    outcome = Builder(Project.at(site), as_of=dt.date.fromisoformat(FIXTURE_DAY)).build()
    assert [str(e) for e in outcome.errors] == [message]
