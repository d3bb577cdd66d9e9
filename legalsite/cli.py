"""The command line: ``python build.py [build|check|new|…]``.

Written for legal as much as for CI: every command says what it did in one
line, every error says where (``path:line``) and how to fix it, and the exit
status is 0 only when everything is right. This module parses the command
line and answers a build with nothing to do (stamp.py, from the store); the commands
themselves, and Markdown, Jinja and the rest, load only when there is work
(commands.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
from pathlib import Path

from . import stamp, timeline
from .project import Project
from .store import Store

DESCRIPTION = """\
Build the 1vy legal site from the Markdown policies in content/.

Everyday use:
  python build.py              build the site into _site/ (same as: build)
  python build.py check        check every policy file and report problems; writes nothing
  python build.py new privacy  start the next version of the privacy policy as a draft
  python build.py diff privacy see what the newest version (a draft, say) changes
  python build.py lock --live  record published versions in versions.lock (then commit it)
  python build.py notice privacy  print the notice to send for the upcoming version
  python build.py serve        live preview with drafts at http://127.0.0.1:8000/, reloads on save
  python build.py audit        check a built site (default: _site/) for anything that
                               contacts another origin (build and check run it too)

Each policy version is one file: content/<policy>/<YYYY-MM-DD>.md, named after
the day it takes effect. Problems are reported as  file:line: what is wrong.
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2026-05-01"
        ) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--content", type=Path, metavar="DIR", help="folder with the policies (default: content/)"
    )
    parser.add_argument(
        "--templates",
        type=Path,
        metavar="DIR",
        help="folder with the page templates (default: templates/)",
    )
    parser.add_argument(
        "--settings", type=Path, metavar="FILE", help="site settings file (default: site.toml)"
    )
    parser.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="build the site as it will look on DATE (YYYY-MM-DD); default: SOURCE_DATE_EPOCH if set, else today",
    )
    parser.add_argument(
        "--drafts", action="store_true", help="include versions marked 'draft: true'"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes to use (default: one per core)",
    )
    parser.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="the lock of published versions (default: versions.lock beside content/)",
    )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser(
        "build",
        help="build the site (the default command)",
        description="Check all content, then write the whole site to the output folder. "
        "If anything is wrong nothing is written and the previous site stays as it was.",
    )
    _common(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("_site"),
        metavar="DIR",
        help="output folder (default: _site/)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(".cache"),
        metavar="DIR",
        help="keep results between builds here to rebuild faster (default: .cache/); never changes the output",
    )
    p.add_argument(
        "--no-cache", dest="cache", action="store_const", const=None, help="use no cache"
    )

    p = commands.add_parser(
        "check",
        help="check all content and settings; write nothing",
        description="Check every policy file and the site settings, list every problem, write nothing. "
        "Exit status 1 if there is any problem.",
    )
    _common(p)

    p = commands.add_parser(
        "serve",
        help="live preview with drafts: rebuilds and reloads the browser on save",
        description="Build the site with drafts and serve it at http://127.0.0.1:8000/. Every save in "
        "content/, templates/ or site.toml rebuilds what changed and reloads the open pages; "
        "problems are shown in the browser and here. Nothing is written to disk. Ctrl-C stops.",
    )
    _common(p)
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on (default: 8000; 0 picks a free one)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only)",
    )
    p.add_argument("--open", action="store_true", help="open the preview in the web browser")

    p = commands.add_parser(
        "audit",
        help="audit a built site for anything that contacts another origin",
        description="Scan every file of a built site (HTML, CSS, XML, JSON, JS) for anything that "
        "would make a browser contact an origin other than the site and the analytics "
        "origin from the settings. Prints each finding as file:line: what; exit status 1 "
        "if there is any.",
    )
    p.add_argument(
        "site_dir",
        nargs="?",
        type=Path,
        default=Path("_site"),
        metavar="SITE_DIR",
        help="the built site (default: _site/)",
    )
    p.add_argument(
        "--settings", type=Path, metavar="FILE", help="site settings file (default: site.toml)"
    )
    p.add_argument(
        "--no-tracker",
        action="store_true",
        help="the site was built without the tracker (e.g. a preview): no analytics origin allowed",
    )

    p = commands.add_parser(
        "new",
        help="start the next version of a policy as a draft",
        description="Copy the newest version of POLICY to a new file dated --effective (default: the "
        "first day that meets the notice period: today + notice_days of site.toml), "
        "with an empty summary to fill in and 'draft: true'. A policy that does not exist yet "
        "starts from a short template. Prints the new file's path.",
    )
    p.add_argument("policy", help="the policy's folder name, e.g. privacy")
    p.add_argument(
        "--effective",
        type=_date,
        metavar="DATE",
        help="the day the new version takes effect (default: today + notice_days); with --lang, "
        "the version to translate (default: the one in force)",
    )
    p.add_argument(  # issue 17
        "--lang",
        metavar="LANG",
        help="start a translation into LANG (one of site.toml's languages) instead: "
        "content/POLICY/DATE.LANG.md, with 'translates' filled in and 'draft: true'",
    )
    p.add_argument(
        "--content", type=Path, metavar="DIR", help="folder with the policies (default: content/)"
    )

    p = commands.add_parser(
        "diff",
        help="show what one version changes compared with another",
        description="Redline of two versions of POLICY, drafts included. Without dates: the newest "
        "version against the one in force. Writes one HTML file you can open or send "
        "(its path is printed), or with --text prints a summary here.",
    )
    _common(p)
    p.add_argument("policy", help="the policy's folder name, e.g. privacy")
    p.add_argument(
        "old", nargs="?", type=_date, metavar="FROM", help="date of the older version (YYYY-MM-DD)"
    )
    p.add_argument(
        "new", nargs="?", type=_date, metavar="TO", help="date of the newer version (YYYY-MM-DD)"
    )
    p.add_argument(
        "--text", action="store_true", help="print the changes as text instead of writing HTML"
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write the HTML (default: _diff/<policy>-<FROM>-to-<TO>.html)",
    )

    p = commands.add_parser(
        "lock",
        help="record published versions in versions.lock",
        description="A published version's text must never change silently. 'lock' records the "
        "SHA-256 of every published version (in force or announced) in versions.lock, with the "
        "day it was first published, from which its notice period counts; commit that file. With "
        "--live that day is checked against the live site: a version it does not show yet is "
        "first published today (CI runs 'lock --check --live' before publishing). A "
        "build fails when a locked text changed: publish the change as a new version, or record "
        "a correction with --correct. Versions published before this site existed are recorded "
        "with --import.",
    )
    _common(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--check",
        action="store_true",
        help="only check that versions.lock is up to date (exit 1 if not)",
    )
    group.add_argument(
        "--correct",
        metavar="POLICY/DATE",
        help="accept the edited text of this locked version as a correction",
    )
    group.add_argument(
        "--import",
        dest="import_",
        metavar="POLICY/DATE",
        action="append",
        help="record this version, already in force, as published before this site existed: "
        "no notice period applies to it (repeat for several)",
    )
    p.add_argument(
        "--note",
        help="with --correct: what was corrected and why (shown to readers); with --import: "
        "where and when the version was published before (kept in versions.lock)",
    )
    p.add_argument(
        "--live",
        nargs="?",
        const="",
        metavar="URL",
        help="ask the live site which versions it already lists (its versions.json; default: "
        "base_url of site.toml + /versions.json; or another http(s) address): a locked "
        "version it does not list yet is first published today, so the lock must say today. "
        "With --check: fail otherwise (CI, before publishing); without: record such versions "
        "again as of today",
    )
    p.add_argument(
        "--first-publication",
        action="store_true",
        help="the site is published for the first time today, so the live site has no index yet: "
        "check that it has none and record that in versions.lock (implies --live)",
    )

    p.add_argument(
        "--trust-lock",
        metavar="REASON",
        help="the live site cannot be read today (an outage, a move): record in versions.lock, "
        "with REASON, that the days it records are taken as they are, today only and only while "
        "the site stays unreadable (implies --live; README, 'When the live site stays unreadable')",
    )

    p = commands.add_parser(  # issue 15 (notice.py; defined here: its module loads the model)
        "notice",
        help="print the notice to send for a policy's upcoming version",
        description="Print the notice legal sends (email or in-app) before the upcoming version of "
        "POLICY takes effect: its title, effective date, summary and the links to the new "
        "version and its redline on the published site. Plain text by default.",
    )
    _common(p)
    p.add_argument("policy", help="the policy's folder name, e.g. privacy")
    p.add_argument(
        "--version",
        type=_date,
        metavar="DATE",
        help="the version (YYYY-MM-DD) to announce (default: the next one to take effect)",
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text (an email body with a Subject: line) or markdown (default: text)",
    )
    return parser


def _project(args: argparse.Namespace) -> Project:
    return Project.at(
        Path.cwd(),
        content=getattr(args, "content", None),
        templates=getattr(args, "templates", None),
        settings=getattr(args, "settings", None),
        lock=getattr(args, "lock", None),
    )


def main(argv: list[str] | None = None, program: bool = False) -> int:
    """Run the command line; returns the exit status. ``program``: this process is the
    command's own (:func:`entry`), so the collector may be told what lives to its end."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "build")
    args = make_parser().parse_args(argv)
    cached = args.command == "build" and args.cache is not None
    with Store(args.cache if cached else None) as store:
        try:
            found = _check(args, store) if cached else None
            if found is not None and found.up_to_date and found.stamp is not None:
                for warning in found.stamp.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
                print(
                    f"up to date: {found.stamp.summary}, nothing changed since the last build"
                    f" -> {args.out}"
                )
                return 0
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
            return 130
        from .commands import run

        # What is alive now (the modules just imported: Markdown, Jinja, lxml...) lives as long
        # as the program: frozen, no collection walks it. One edit at 20 x 50 unpickles 1,000
        # parses, which set off a full collection over it all: 24-31 ms of 0.45 s (README,
        # Performance). Never in a caller's process: unfreezing would hand the collector back
        # uncounted garbage, and its full collections would stop (tests/test_one_edit.py).
        if program:
            gc.freeze()
        return run(args, _project(args), found, store if cached else None)


def entry() -> None:
    """The command line as a program (build.py, the ``legalsite`` script)."""
    code = main(program=True)
    # The process ends: what is alive is frozen, so that the collection Python makes on the
    # way out has nothing to walk (one edit at 20 x 50: exit 11 ms, not 28-42; README).
    gc.freeze()
    sys.exit(code)


def _check(args: argparse.Namespace, store: Store) -> stamp.Check | None:
    """The last build's stamp against the inputs and output now (stamp.check); None if something
    cannot be read, or the day is wrong: the build itself reports it."""
    try:
        today = timeline.build_day(args.as_of)
    except timeline.DayError:
        return None
    return stamp.check(_project(args), args.out, today, args.drafts, store)
