"""``build.py new``: the next version starts as a draft copy of the newest one."""

from __future__ import annotations

import datetime as dt

from legalsite.timeline import build_day

CURRENT = """\
---
title: Privacy Policy
effective: 2026-01-01
summary: Old summary.
---

## 1. Section

Text with {{ contact_email }}.
"""


def test_copies_the_newest_version_as_a_draft(project, cli, tmp_path):
    project({"content/privacy/2025-06-01.md": CURRENT.replace("2026-01-01", "2025-06-01").replace("Text", "Older"),
             "content/privacy/2026-01-01.md": CURRENT})
    code, out, err = cli("new", "privacy", "--effective", "2026-07-01")
    assert (code, out, err) == (0, "content/privacy/2026-07-01.md\n", "")
    assert (tmp_path / "content/privacy/2026-07-01.md").read_text() == (
        "---\ntitle: Privacy Policy\neffective: 2026-07-01\nsummary: ''\ndraft: true\n---\n\n"
        "## 1. Section\n\nText with {{ contact_email }}.\n")
    # The draft is valid content; the preview (--drafts) shows it.
    assert cli("check", "--drafts", "--as-of", "2025-11-01")[0] == 0


def test_default_date_is_the_first_day_that_meets_the_notice_period(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": CURRENT})
    first_day = (build_day() + dt.timedelta(days=30)).isoformat()  # notice_days: 30 by default
    code, out, _ = cli("new", "privacy")
    assert (code, out) == (0, f"content/privacy/{first_day}.md\n")
    (tmp_path / "site.toml").write_text("[site]\nnotice_days = 14\n")
    code, out, _ = cli("new", "terms")
    assert (code, out) == (0, f"content/terms/{(build_day() + dt.timedelta(days=14)).isoformat()}.md\n")
    # Its date meets the notice period: no warning while it is a draft.
    code, out, err = cli("check", "--drafts")
    assert code == 0 and "notice" not in err, err


def test_new_policy_starts_from_a_template(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": CURRENT})
    code, out, _ = cli("new", "terms-of-service", "--effective", "2026-07-01")
    assert (code, out) == (0, "content/terms-of-service/2026-07-01.md\n")
    text = (tmp_path / "content/terms-of-service/2026-07-01.md").read_text()
    assert text.startswith("---\ntitle: Terms Of Service\neffective: 2026-07-01\nsummary: ''\ndraft: true\n---\n\n## 1. First section\n")
    assert cli("check", "--drafts")[0] == 0


def test_refusals(project, cli):
    project({"content/privacy/2026-01-01.md": CURRENT})
    assert cli("new", "privacy", "--effective", "2026-01-01") == (
        1, "", "error: content/privacy/2026-01-01.md already exists: edit it, or choose another date with --effective\n")
    assert cli("new", "privacy", "--effective", "2025-01-01") == (
        1, "", "error: the newest version content/privacy/2026-01-01.md takes effect after 2025-01-01: choose a later date with --effective\n")
    assert cli("new", "Privacy Policy") == (
        1, "", "error: policy name 'Privacy Policy' must be lowercase letters, digits and hyphens, e.g. privacy\n")


def test_a_byte_order_mark_in_the_newest_version_is_skipped_as_check_skips_it(project, cli, tmp_path):
    """Reported by 20z: with an editor's UTF-8 BOM, `new` took the whole file, front matter
    included, for the body of a draft titled 'privacy', where `check` reads it fine."""
    project({"content/privacy/2026-01-01.md": "\ufeff" + CURRENT})
    assert cli("check", "--as-of", "2026-06-15")[0] == 0
    assert cli("new", "privacy", "--effective", "2026-07-01") == (0, "content/privacy/2026-07-01.md\n", "")
    assert (tmp_path / "content/privacy/2026-07-01.md").read_text(encoding="utf-8").startswith(
        "---\ntitle: Privacy Policy\neffective: 2026-07-01\n")
