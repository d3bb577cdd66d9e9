"""The commands behind build.py, run once cli.py has parsed the command line."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from . import lock as locking
from . import notice, notice_period, timeline, translations
from .audit import audit_files, audit_policy, read_site
from .diffcmd import DiffError, pick, standalone_html
from .model import ContentErrors, Site
from .newversion import NewVersionError, new_version
from .output import OutputError, write_file
from .parallel import default_jobs
from .pipeline import (
    Project,
    Request,
    load_policies,
    load_settings,
    load_site,
    publish,
    render,
    warnings,
)
from .render import load_theme
from .settings import load_settings as read_settings
from .stamp import check as check_stamp
from .store import Store
from .theme import template_error
from .wording import counted


def run(args: argparse.Namespace, project: Project, found=None, store: Store | None = None) -> int:
    """Carry out the command; ``found``: what cli.py's stamp check found in ``store`` (a build
    with --cache; without ``store``, a build opens the one in --cache itself)."""
    try:
        if args.command == "build":
            request = Request(
                project, timeline.build_day(args.as_of), args.drafts, jobs=_jobs(args)
            )
            if args.cache is not None and store is None:
                with Store(args.cache) as own:
                    return run(args, project, None, own)
            if store is not None and found is None:
                found = check_stamp(project, args.out, request.today, args.drafts, store)
            result = publish(request, args.out, store, found)
            for warning in warnings(result.site):
                print(f"warning: {warning}", file=sys.stderr)
            print(f"built {result.summary(args.out)}")
        elif args.command == "check":
            result = render(project, timeline.build_day(args.as_of), args.drafts, jobs=_jobs(args))
            for warning in warnings(result.site):
                print(f"warning: {warning}", file=sys.stderr)
            print(f"ok: {result.summary(None)}")
        elif args.command == "serve":
            from .preview import serve  # the server and watchdog load only for this command

            return serve(project, args.host, args.port, args.open, args.as_of)
        elif args.command == "audit":
            return audit_command(
                args.site_dir, args.settings or Path("site.toml"), tracker=not args.no_tracker
            )
        elif args.command == "new":
            project = Project.at(Path.cwd(), content=args.content)
            if args.lang:  # issue 17: a translation
                from .newtranslation import new_translation

                made = new_translation(
                    project, args.policy, args.lang, args.effective, timeline.build_day()
                )
                print(project.display(made))
                return 0
            effective = args.effective or timeline.build_day() + dt.timedelta(
                days=load_settings(project).notice_days
            )
            path = new_version(project.content, args.policy, effective, project.display)
            print(project.display(path))
        elif args.command == "diff":
            return _diff(args, project)
        elif args.command == "lock":
            from .live import LiveError  # see _lock

            try:
                return _lock(args, project)
            except LiveError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        elif args.command == "notice":  # issue 15
            return notice.run(args, project)
    except ContentErrors as errors:
        return _report(errors)
    except (
        OutputError,
        NewVersionError,
        DiffError,
        UsageError,
        timeline.DayError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    return 0


def audit_command(site_dir: Path, settings_path: Path, tracker: bool = True) -> int:
    """``build.py audit SITE_DIR``: findings on stdout as ``file:line: what``; 1 if any."""
    if not site_dir.is_dir():
        print(
            f"error: {site_dir} is not a folder: build the site first (python build.py --out {site_dir})",
            file=sys.stderr,
        )
        return 1
    settings = read_settings(settings_path, settings_path.as_posix())
    site = Site(settings=settings, policies=(), today=dt.date.today(), tracker=tracker)
    files = read_site(site_dir)
    prefix = site_dir.as_posix().rstrip("/") + "/"
    findings = audit_files(files, audit_policy(site), prefix=prefix)
    for finding in findings:
        print(finding)
    if findings:
        print(
            f"{counted(len(findings), 'problem')} found in {site_dir}: "
            "nothing on the site may contact another origin",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {len(files)} files in {site_dir}, nothing contacts another origin")
    return 0


def _jobs(args: argparse.Namespace) -> int:
    if args.jobs is None:
        return default_jobs()
    if args.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    return args.jobs


def _diff(args: argparse.Namespace, project: Project) -> int:
    site = load_site(project, timeline.build_day(args.as_of), drafts=True)
    diff = pick(site, args.policy, args.old, args.new)
    if args.text:
        print(f"{diff.new.title}: {diff.old.source_path} -> {diff.new.source_path}")
        print(diff.redline.text, end="")
        return 0
    out = args.out or Path("_diff") / f"{args.policy}-{diff.old.slug}-to-{diff.new.slug}.html"
    try:
        html = standalone_html(diff, site, load_theme(project.templates))
    except Exception as exc:  # a template's error: its file and line (theme.template_error)
        error = template_error(exc, project.templates, project.display)
        if error is None:
            raise
        raise ContentErrors([error]) from None
    write_file(out, html)
    print(out)
    return 0


def _lock(args: argparse.Namespace, project: Project) -> int:
    """``lock``. The live site's reader (live.py, with http.client, ssl and email) is imported
    here, not with this module: it was 25 ms of every build's start (README, Performance)."""
    from . import live

    now = timeline.wall_clock()  # read once: a run across midnight must not mix two days
    today, real = timeline.build_day(args.as_of, now), now.date()
    if not args.check and today < real:  # a past day would shorten the notice period
        raise UsageError(
            f"lock records today as the day versions are announced, so it cannot run as of "
            f"{today.isoformat()}, before today ({real.isoformat()}): drop --as-of and unset "
            "SOURCE_DATE_EPOCH"
        )
    live_source = args.live
    if (args.first_publication or args.trust_lock is not None) and live_source is None:
        live_source = ""  # both check the live site: they imply --live
    if args.trust_lock is not None:
        if not args.trust_lock.strip():
            raise UsageError(
                '--trust-lock needs a reason, e.g. --trust-lock "the host\'s outage, incident 123" '
                "(kept in versions.lock)"
            )
        if args.check or args.first_publication:
            raise UsageError(
                "--trust-lock records a choice in versions.lock: run it alone, without --check "
                "or --first-publication"
            )
    if live_source is not None and (args.correct or args.import_):
        raise UsageError("--live and --first-publication go with lock or lock --check only")
    if args.first_publication and args.check:  # checking reads the recorded choice
        raise UsageError(
            "--first-publication records a choice in versions.lock: run it without --check"
        )
    if live_source is not None and today != real:
        raise UsageError(
            f"--live checks what the live site shows today ({real.isoformat()}), so it cannot "
            f"run as of {today.isoformat()}: drop --as-of and unset SOURCE_DATE_EPOCH"
        )
    loaded = load_policies(project, load_settings(project), Store())
    display = project.display(project.lock)
    if args.correct:
        if not args.note or not args.note.strip():
            raise UsageError('--correct needs --note "what was corrected and why" (readers see it)')
        version = next(
            (v for p in loaded.policies for v in p.versions if v.key == args.correct), None
        ) or next((t for t in loaded.translations if t.key == args.correct), None)  # issue 17
        if version is None or args.correct not in loaded.lock.entries:
            raise UsageError(
                f"{args.correct} is not a locked version: use POLICY/DATE as listed in {display}"
            )
        if version.source_sha256 == loaded.lock.entries[args.correct].current_sha256:
            raise UsageError(
                f"{args.correct} has not changed since it was locked: there is nothing to correct"
            )
        new = locking.corrected(loaded.lock, version, args.note.strip(), today)
        write_file(project.lock, new.to_json().encode("utf-8"))
        print(f"{display}: recorded the correction of {args.correct} on {today.isoformat()}")
        return 0
    if args.import_:
        return _import(args, project, loaded, today)
    live_site = (
        live.open_site(
            live_source,
            loaded.settings,
            loaded.lock,
            today,
            args.first_publication,
            (args.trust_lock or "").strip(),
        )
        if live_source is not None
        else None
    )
    lock: locking.Lock = loaded.lock
    stale: dict[str, dt.date] = {}
    present = {v.key for p in loaded.policies for v in p.versions}
    checked = lock
    if live_site is not None and not args.check:  # versions not live yet: recorded again today
        lock, stale = live.relocked(lock, live_site.announced, today, present)
        if args.first_publication:
            lock = dataclasses.replace(lock, first_publication=today)
        if args.trust_lock is not None:
            lock = dataclasses.replace(lock, trust_lock=locking.TrustLock(today, live_site.trusted))
        checked = lock
    elif live_site is not None:  # a stale entry is live.check's error, not a withdrawal
        gone = live.gone(lock, live_site.announced, present)
        checked = dataclasses.replace(
            lock, entries={k: e for k, e in lock.entries.items() if k not in gone}
        )
    policies, errors = locking.verify(loaded.policies, checked, display)
    errors += notice_period.check_notice(
        policies, lock, today, loaded.settings.notice_days, frozenset(stale)
    )
    errors += translations.verify_lock(loaded.translations, lock, display)  # issue 17
    new = locking.updated(policies, lock, today, loaded.settings.notice_days)
    new = translations.lock_updated(loaded.translations, new, today)  # issue 17
    if args.check and live_site is not None:
        errors += live.check(
            policies,
            lock,
            live_site,
            loaded.settings.notice_days,
            locking.entry_lines(project.lock.read_text(encoding="utf-8"))
            if project.lock.exists()
            else {},
            display,
        )
    if live_site is not None:
        errors += live.withdrawn(policies, lock, live_site, display)
    if errors:
        raise ContentErrors(errors)
    added = sorted(set(new.entries) - set(lock.entries))
    if args.check:
        if added or not project.lock.exists():
            command = live_site.fix if live_site is not None else "python build.py lock"
            print(
                f"{display} is out of date: not yet locked: {', '.join(added) or 'no file'}. "
                f"Run '{command}' and commit the file.",
                file=sys.stderr,
            )
            return 1
        line = f"{display} is up to date ({counted(len(new.entries), 'version')} locked)"
        if live_site is not None:
            late = live.last_call(
                live.first_published(new, live_site.announced),
                timeline.wall_clock(),  # at the end: the check took time
                today,
                live_site.fix,
            )
            if late:
                raise UsageError(late)
            line += "; " + live.summary(new, live_site, today)
        print(line)
        return 0
    write_file(project.lock, new.to_json().encode("utf-8"))
    for key in added:
        reason = new.entries[key].non_material
        if key in stale:
            print(
                f"locked {key} again: the live site does not list it yet, so it is first "
                f"published today, {today.isoformat()} (was {stale[key].isoformat()})"
            )
        else:
            print(f"locked {key}" + (f" (not material: {reason})" if reason else ""))
    for key in sorted(set(stale) - set(new.entries)):
        print(
            f"unlocked {key}: it never reached the live site and is no longer published in content/"
        )
    if args.first_publication:
        print(f"{display}: recorded the site's first publication today, {today.isoformat()}")
    if args.trust_lock is not None:
        print(f"the live site cannot be read: {live_site.unread if live_site else ''}")
        print(
            f"{display}: recorded for today, {today.isoformat()}, that the days it records are "
            f"taken as they are: {live_site.trusted if live_site else ''}"
        )
    print(f"{display}: {counted(len(new.entries), 'version')} locked; commit it")
    if live_site is not None:
        soon = live.push_soon(live.first_published(new, live_site.announced), now)
        if soon:
            print(f"warning: {soon}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, project: Project, loaded, today: dt.date) -> int:
    """``lock --import POLICY/DATE --note``: versions published before this site existed."""
    display = project.display(project.lock)
    if not args.note or not args.note.strip():
        raise UsageError(
            '--import needs --note "where and when it was published before this site" '
            f"(kept in {display})"
        )
    versions = {v.key: v for p in loaded.policies for v in p.versions}
    lock = loaded.lock
    for key in args.import_:
        if key not in versions:
            raise UsageError(
                f"{key} is not a version in content/: use POLICY/DATE, e.g. privacy/2026-04-01"
            )
        if key in lock.entries:
            raise UsageError(f"{key} is already in {display}: there is nothing to import")
        try:
            lock = locking.imported(lock, versions[key], args.note.strip(), today)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    _, errors = locking.verify(loaded.policies, lock, display)
    if errors:
        raise ContentErrors(errors)
    write_file(project.lock, lock.to_json().encode("utf-8"))
    for key in args.import_:
        print(f"imported {key}: {args.note.strip()}")
    print(f"{display}: {counted(len(lock.entries), 'version')} locked; commit it")
    return 0


class UsageError(Exception):
    """A command that cannot be carried out as asked."""


def _report(errors: ContentErrors) -> int:
    for error in errors.errors:
        print(error, file=sys.stderr)
    count = len(errors.errors)
    print(
        f"{counted(count, 'problem')} found; nothing was written. Fix them and run the command again.",
        file=sys.stderr,
    )
    return 1
