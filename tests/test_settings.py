"""site.toml: defaults, validation with exact messages and lines."""

from __future__ import annotations

import pytest

from legalsite.model import Analytics, ContentErrors, Settings
from legalsite.settings import load_settings


def errors(tmp_path, text: str) -> list[str]:
    path = tmp_path / "site.toml"
    path.write_text(text)
    with pytest.raises(ContentErrors) as info:
        load_settings(path)
    return [str(e) for e in info.value.errors]


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(tmp_path / "site.toml") == Settings()


def test_full_settings(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text('[site]\nname = "Acme"\nbase_url = "https://legal.acme.test/"\ncontact_email = "p@acme.test"\n'
                    '[analytics]\norigin = "https://stats.acme.test"\nwebsite_id = "6B9F1C2E-0000-4000-8000-000000000001"\n'
                    'script_path = "/s.js"\ndomains = ["legal.acme.test"]\n')
    settings = load_settings(path)
    assert settings.base_url == "https://legal.acme.test"
    assert settings.analytics == Analytics(origin="https://stats.acme.test", website_id="6b9f1c2e-0000-4000-8000-000000000001",
                                           script_path="/s.js", domains=("legal.acme.test",))


def test_toml_syntax_error_has_its_line(tmp_path):
    assert errors(tmp_path, '[site]\nname = "x"\nbase_url = https://x\n') == [
        "site.toml:3: TOML syntax error: Invalid value"]


def test_every_bad_value_is_reported(tmp_path):
    text = """[site]
name = ""
base_url = "http://legal.example.com"
language = "English"
contact_email = "[email protected]"
notice_days = -1
colour = "blue"

[analytics]
origin = "https://stats.example.com/umami"
website_id = "not-a-uuid"
script_path = "script.js"
domains = "legal.example.com"
"""
    assert errors(tmp_path, text) == [
        "site.toml:2: name must be a non-empty string, e.g. name = \"1vy\"",
        "site.toml:3: base_url 'http://legal.example.com' must use https (plain http is only for localhost)",
        "site.toml:4: language 'English' is not a language tag: use e.g. \"en\" or \"en-GB\"",
        "site.toml:5: contact_email '[email protected]' is not an e-mail address: use e.g. \"privacy@example.com\", or \"\" until it is known",
        "site.toml:6: notice_days -1 must be a whole number of days from 0 to 365, e.g. 30",
        "site.toml:7: unknown setting 'colour' in [site]: allowed are base_url, compare_any_two, contact_email, language, name, notice_days",
        "site.toml:10: origin 'https://stats.example.com/umami' must be a scheme and host only, e.g. \"https://stats.example.com\"",
        "site.toml:11: website_id 'not-a-uuid' must be the website's UUID from Umami (umami/README.md tells how to get it)",
        "site.toml:12: script_path 'script.js' must be an absolute path ending in .js, matching Umami's TRACKER_SCRIPT_NAME, e.g. \"/script.js\"",
        "site.toml:13: domains 'legal.example.com' must be a non-empty list of host names to count, e.g. [\"legal.example.com\"]",
    ]


def test_analytics_http_only_on_loopback(tmp_path):
    assert errors(tmp_path, '[analytics]\norigin = "http://stats.example.com"\nwebsite_id = "6b9f1c2e-0000-4000-8000-000000000001"\ndomains = ["a.b"]\n') == [
        "site.toml:2: origin 'http://stats.example.com' must use https (plain http is only for a loopback address)"]
    path = tmp_path / "ok.toml"
    path.write_text('[analytics]\norigin = "http://127.0.0.1:8123"\nwebsite_id = "6b9f1c2e-0000-4000-8000-000000000001"\ndomains = ["127.0.0.1"]\n')
    assert load_settings(path).analytics.enabled


def test_analytics_keys_without_origin(tmp_path):
    assert errors(tmp_path, '[analytics]\nwebsite_id = "6b9f1c2e-0000-4000-8000-000000000001"\n') == [
        "site.toml:2: 'website_id' is set but origin is empty: set origin to turn analytics on, or remove 'website_id'"]


def test_settings_errors_stop_the_build(project, cli):
    project({"site.toml": "[site]\nlanguage = 1\n", "content/privacy/2026-01-01.md": "---\ntitle: P\neffective: 2026-01-01\n---\n\nText.\n"})
    code, _, err = cli("build")
    assert code == 1
    assert err.splitlines()[0] == "site.toml:2: language 1 is not a language tag: use e.g. \"en\" or \"en-GB\""
