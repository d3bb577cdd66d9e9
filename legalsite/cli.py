"""The command line: ``python build.py [build|check|new|…]``.

Written for legal as much as for CI: every command says what it did in one
line, every error says where (``path:line``) and how to fix it, and the exit
status is 0 only when everything is right.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from . import timeline
from .model import ContentErrors
from .newversion import NewVersionError, new_version
from .output import OutputError
from .pipeline import Project, audit_command, build, render, warnings

DESCRIPTION = """\
Build the 1vy legal site from the Markdown policies in content/.

Everyday use:
  python build.py              build the site into _site/ (same as: build)
  python build.py check        check every policy file and report problems; writes nothing
  python build.py new privacy  start the next version of the privacy policy as a draft
  python build.py audit        check a built site (default: _site/) for anything that
                               contacts another origin (build and check run it too)

Each policy version is one file: content/<policy>/<YYYY-MM-DD>.md, named after
the day it takes effect. Problems are reported as  file:line: what is wrong.
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2026-05-01") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, metavar="DIR", help="folder with the policies (default: content/)")
    parser.add_argument("--templates", type=Path, metavar="DIR", help="folder with the page templates (default: templates/)")
    parser.add_argument("--settings", type=Path, metavar="FILE", help="site settings file (default: site.toml)")
    parser.add_argument("--as-of", type=_date, metavar="DATE",
                        help="build the site as it will look on DATE (YYYY-MM-DD); default: SOURCE_DATE_EPOCH if set, else today")
    parser.add_argument("--drafts", action="store_true", help="include versions marked 'draft: true'")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("build", help="build the site (the default command)",
                            description="Check all content, then write the whole site to the output folder. "
                                        "If anything is wrong nothing is written and the previous site stays as it was.")
    _common(p)
    p.add_argument("--out", type=Path, default=Path("_site"), metavar="DIR", help="output folder (default: _site/)")

    p = commands.add_parser("check", help="check all content and settings; write nothing",
                            description="Check every policy file and the site settings, list every problem, write nothing. "
                                        "Exit status 1 if there is any problem.")
    _common(p)

    p = commands.add_parser("audit", help="audit a built site for anything that contacts another origin",
                            description="Scan every file of a built site (HTML, CSS, XML, JSON, JS) for anything that "
                                        "would make a browser contact an origin other than the site and the analytics "
                                        "origin from the settings. Prints each finding as file:line: what; exit status 1 "
                                        "if there is any.")
    p.add_argument("site_dir", nargs="?", type=Path, default=Path("_site"), metavar="SITE_DIR",
                   help="the built site (default: _site/)")
    p.add_argument("--settings", type=Path, metavar="FILE", help="site settings file (default: site.toml)")
    p.add_argument("--no-tracker", action="store_true",
                   help="the site was built without the tracker (e.g. a preview): no analytics origin allowed")

    p = commands.add_parser("new", help="start the next version of a policy as a draft",
                            description="Copy the newest version of POLICY to a new file dated --effective (default: tomorrow), "
                                        "with an empty summary to fill in and 'draft: true'. A policy that does not exist yet "
                                        "starts from a short template. Prints the new file's path.")
    p.add_argument("policy", help="the policy's folder name, e.g. privacy")
    p.add_argument("--effective", type=_date, metavar="DATE", help="the day the new version takes effect (default: tomorrow)")
    p.add_argument("--content", type=Path, metavar="DIR", help="folder with the policies (default: content/)")
    return parser


def _project(args: argparse.Namespace) -> Project:
    return Project.at(Path.cwd(), content=args.content, templates=getattr(args, "templates", None),
                      settings=getattr(args, "settings", None))


def _report(errors: ContentErrors) -> int:
    for error in errors.errors:
        print(error, file=sys.stderr)
    count = len(errors.errors)
    print(f"{count} problem{'s' if count != 1 else ''} found; nothing was written. Fix them and run the command again.",
          file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "build")
    args = make_parser().parse_args(argv)
    try:
        if args.command == "build":
            result = build(_project(args), args.out, args.as_of, args.drafts)
            for warning in warnings(result.site):
                print(f"warning: {warning}", file=sys.stderr)
            print(f"built {result.summary(args.out)}")
        elif args.command == "check":
            result = render(_project(args), timeline.build_day(args.as_of), args.drafts)
            for warning in warnings(result.site):
                print(f"warning: {warning}", file=sys.stderr)
            print(f"ok: {result.summary(None)}")
        elif args.command == "audit":
            return audit_command(args.site_dir, args.settings or Path("site.toml"), tracker=not args.no_tracker)
        elif args.command == "new":
            project = Project.at(Path.cwd(), content=args.content)
            effective = args.effective or timeline.build_day() + dt.timedelta(days=1)
            path = new_version(project.content, args.policy, effective, project.display)
            print(project.display(path))
    except ContentErrors as errors:
        return _report(errors)
    except (OutputError, NewVersionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    return 0
