"""Benchmark the site build against Hugo and MkDocs (and Pelican) on the same corpus (issues 7, 20).

    .venv/bin/python benchmarks/bench_build.py            # 10 x 10 and 20 x 50, the default repetitions
    .venv/bin/python benchmarks/bench_build.py --quick    # 10 x 10 only
    .venv/bin/python benchmarks/bench_build.py --sizes 20x50 --reps 3 --peers hugo,mkdocs,pelican

For each size (policies x versions) it writes the deterministic corpus of
``benchmarks/corpus.py`` under ``benchmarks/.work/``, converts it for each
peer, then, repetition by repetition, times each tool in turn (ours first) as a
fresh process: a cold build (no output, no cache), again with nothing changed,
and again after one sentence of one middle version was edited; with the peak
memory of each run. Ours is ``python build.py build ... --as-of 2030-01-01``;
the peers are Hugo (Debian's package) and MkDocs (and Pelican on request,
pinned, installed by this script into ``benchmarks/.work/peers-venv``), each
with a minimal page template from ``benchmarks/peers/``.

It prints the medians, the ratios of ours to each peer's, the size of the page
in force of the largest policy (HTML + CSS) and the number of redline pages, as
a table and as JSON (``benchmarks/.work/results.json``).
``benchmarks/README.md`` explains every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as corpus_mod  # noqa: E402  (benchmarks/corpus.py)

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
SOURCE = REPO  # where build.py, legalsite/ and templates/ are measured from (--rev: an extracted commit)
AS_OF = corpus_mod.AS_OF.isoformat()  # fixed build day: every version of the corpus is in the past
SIZES = {"10x10": (10, 10), "20x50": (20, 50)}
DEFAULT_REPS = {"10x10": 5, "20x50": 3}

# The Python peers, pinned (checked with `pip index versions`); Markdown is the version our build uses.
# Hugo is Debian's package (apt-get install hugo): its version is recorded as found.
PEER_PINS = {"mkdocs": "1.6.1", "pelican": "4.12.0", "markdown": "3.11.3"}
PEERS_VENV = WORK / "peers-venv"

# --- the build cache: the ONE place to tell the benchmark about it -------------------------------
# A cold build must start without any cache. Our build runs with the corpus folder as its working
# directory and XDG_CACHE_HOME inside it, and before every cold build everything in the corpus
# folder except content/, site.toml and versions.lock is deleted (the output, and any cache the build keeps beside
# its content or in its working directory). A cache kept anywhere else must be named here, or with
# --cache-dir: these paths are deleted before every cold build, and CACHE_ENV is added to the
# build's environment ("{root}" is the corpus folder).
CACHE_PATHS: list[str] = []  # e.g. ["~/.cache/legalsite"]
CACHE_ENV: dict[str, str] = {"XDG_CACHE_HOME": "{root}/.xdg-cache"}  # e.g. add "LEGALSITE_CACHE": "{root}/.cache"
KEEP_IN_ROOT = {"content", "site.toml", "versions.lock"}  # the inputs (issue 15: the lock is one)


def our_python() -> Path:
    """The project's virtual environment (scripts/build-site makes it), else this interpreter."""
    venv = REPO / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


# --- running and measuring one command ------------------------------------------------------------

@dataclass
class Run:
    seconds: float  # wall time
    cpu_seconds: float  # user + system time of the process and its reaped children
    max_rss_mb: float  # getrusage ru_maxrss of the process (the largest of it and its reaped children)
    tree_pss_mb: float  # sampled peak of the summed PSS of the process and all its descendants
    output: str

    @property
    def peak_mb(self) -> float:
        return max(self.max_rss_mb, self.tree_pss_mb)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Samples the summed PSS of a process tree every ``interval`` seconds (parallel builds fork)."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in _descendants(self.pid)))
            self.done.wait(self.interval)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion; wall time, peak memory; raise with its output if it fails."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                                stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} (in {cwd}) failed with {proc.returncode}:\n{output[-3000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, sampler.peak_kb / 1024, output)


# --- one generator's builds: ours and each peer's alike ------------------------------------------

class Tool:
    """One generator building one folder: cold (everything in the folder but its inputs deleted,
    and any cache named elsewhere), again with nothing changed, and again after one sentence of
    one middle version was edited (a different sentence each repetition)."""

    def __init__(self, name: str, root: Path, cmd: list[str], keep: set[str], out: str, edited: Path,
                 env: dict[str, str] | None = None, cache_paths: list[Path] | None = None):
        self.name, self.root, self.cmd, self.keep, self.out = name, root, cmd, keep, root / out
        self.edited, self.original = edited, edited.read_bytes()
        lock = root / "versions.lock"  # ours (issue 15): the edit relocks the version
        self.locked = (lock, lock.read_bytes()) if lock.exists() else None
        self.env, self.cache_paths = env or {}, cache_paths or []
        self.cleared: set[str] = set()  # what a cold build had to delete besides the output

    def clear(self) -> None:
        for path in list(self.root.iterdir()) + self.cache_paths:
            if path.name in self.keep and path.parent == self.root:
                continue
            if path.exists() or path.is_symlink():
                if path != self.out:
                    self.cleared.add(str(path.relative_to(self.root)) if path.parent == self.root else str(path))
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    def cold(self) -> Run:
        self.restore()  # every cold build builds the same corpus
        self.clear()
        return run(self.cmd, self.root, self.env)

    def no_change(self) -> Run:
        return run(self.cmd, self.root, self.env)

    def one_edit(self, n: int) -> Run:
        corpus_mod.edit_one_sentence(self.edited, n)
        return run(self.cmd, self.root, self.env)

    def restore(self) -> None:
        self.edited.write_bytes(self.original)
        if self.locked is not None:
            self.locked[0].write_bytes(self.locked[1])

    def pages(self) -> int:
        return sum(1 for _ in self.out.rglob("*.html"))


PHASES = ("cold", "no_change", "one_edit")


def edited_version(corpus: corpus_mod.Corpus) -> Path:
    """The version every tool edits: the middle one of the first policy."""
    versions = corpus.versions_of(corpus.files[0].parent.name)
    return versions[len(versions) // 2]


def our_build(corpus: corpus_mod.Corpus, extra_cache: list[str]) -> Tool:
    root = corpus.root
    cmd = [str(our_python()), str(SOURCE / "build.py"), "build", "--content", "content", "--settings", "site.toml",
           "--templates", str(SOURCE / "templates"), "--out", "_site", "--as-of", AS_OF]
    return Tool("ours", root, cmd, KEEP_IN_ROOT, "_site", edited_version(corpus),
                env={k: v.format(root=root) for k, v in CACHE_ENV.items()},
                cache_paths=[Path(os.path.expanduser(p.format(root=root))) for p in CACHE_PATHS + extra_cache])


def _gzip(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def page_size(out: Path, policy: str) -> dict:
    """Bytes of /<policy>/ (the page in force) and of the stylesheets it links, raw and gzipped."""
    page = out / policy / "index.html"
    html = page.read_bytes()
    css = b""
    for tag in re.findall(rb"<link\b[^>]*>", html):
        target = re.search(rb'href="?([^" >]+)', tag)
        if re.search(rb'rel="?stylesheet', tag) and target:
            path = (page.parent / target.group(1).decode().split("?")[0]).resolve()
            css += path.read_bytes() if path.is_file() else b""
    return {"policy": policy, "html_bytes": len(html), "css_bytes": len(css), "total_bytes": len(html) + len(css),
            "html_gzip_bytes": _gzip(html), "css_gzip_bytes": _gzip(css),
            "total_gzip_bytes": _gzip(html) + _gzip(css)}


def site_facts(corpus: corpus_mod.Corpus, out: Path) -> dict:
    policies = sorted({f.parent.name for f in corpus.files})
    sizes = [page_size(out, p) for p in policies]
    largest = max(sizes, key=lambda s: s["total_bytes"])
    return {
        "in_force_page_of_largest_policy": largest,
        "redline_pages": sum(1 for _ in out.glob("*/*/changes/index.html")),
        "html_pages": sum(1 for _ in out.rglob("*.html")),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
    }


# --- the peers ----------------------------------------------------------------------------------
# Each peer gets the same versions, front matter converted to its own, {{ contact_email }} resolved,
# a minimal page template (benchmarks/peers/) so that it is measured on Markdown and templating,
# and builds in its own folder under benchmarks/.work/peers-<size>/<peer>/.

THEMES = REPO / "benchmarks" / "peers"


def ensure_peers(names: list[str]) -> dict[str, str]:
    """The versions of the chosen peers; the Python ones are installed, pinned, into
    benchmarks/.work/peers-venv unless it already has them; Hugo is Debian's package."""
    found: dict[str, str] = {}
    if "hugo" in names:
        try:
            line = subprocess.run(["hugo", "version"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            sys.exit("hugo not found: install Debian's package (apt-get install hugo), or leave it out with --peers")
        match = re.search(r"v(\S+).*?(?:VendorInfo=(\S+))?$", line.strip())
        found["hugo"] = f"{match.group(1)} ({match.group(2)})" if match and match.group(2) else line.strip()
    if not {"mkdocs", "pelican"} & set(names):
        return found
    python = PEERS_VENV / "bin" / "python"
    probe = "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in %r}))" % list(PEER_PINS)
    try:
        pins = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        pins = {}
    if pins != PEER_PINS:
        print(f"installing {', '.join(f'{k}=={v}' for k, v in PEER_PINS.items())} into {PEERS_VENV} ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *(f"{k}=={v}" for k, v in PEER_PINS.items())], check=True,
                       stdout=subprocess.DEVNULL)
        pins = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    return {**found, **{k: v for k, v in pins.items() if k in names or k == "markdown"}}


def _split(path: Path) -> tuple[dict, str]:
    """Our front matter (as corpus.py writes it) and the body."""
    text = path.read_text(encoding="utf-8")
    _, fm, body = text.split("---\n", 2)
    meta = {}
    for line in fm.splitlines():
        key, _, value = line.partition(": ")
        meta[key] = json.loads(value) if value.startswith('"') else value
    body = body.replace("{{ contact_email }}", corpus_mod.CONTACT_EMAIL)  # our placeholder, resolved
    return meta, body.lstrip("\n")


def _write_versions(corpus: corpus_mod.Corpus, root: Path, place, front) -> dict[Path, Path]:
    """Every version as ``root/place(policy, day)`` with the front matter lines ``front(meta, title, policy, day)``
    between ``---`` lines (YAML for MkDocs and Hugo; Pelican's Markdown reader takes its ``Key: value``
    lines there too). Returns our file -> the peer's."""
    copies = {}
    for path in corpus.files:
        meta, body = _split(path)
        policy, day = path.parent.name, path.stem
        target = root / place(policy, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = front(meta, f"{meta['title']} ({day})", policy, day)
        target.write_text("---\n" + "\n".join(lines) + "\n---\n\n" + body, encoding="utf-8")
        copies[path] = target
    return copies


def mkdocs_peer(corpus: corpus_mod.Corpus, root: Path) -> Tool:
    """MkDocs with a one-template theme (main.html: title and content), no plugins (the default
    search plugin is off: we build no search index), Markdown extensions as ours."""
    copies = _write_versions(corpus, root, lambda policy, day: f"docs/{policy}/{day}.md",
                             lambda meta, title, policy, day: [f"title: {json.dumps(title)}"])
    newest = {p.parent.name: (_split(p)[0]["title"], f"{p.parent.name}/{p.stem}.md") for p in corpus.files}
    (root / "docs" / "index.md").write_text(
        "# Policies\n\n" + "".join(f"- [{title}]({page})\n" for title, page in newest.values()), encoding="utf-8")
    shutil.copytree(THEMES / "mkdocs-theme", root / "theme")
    (root / "mkdocs.yml").write_text(f"""\
site_name: Bench
site_url: {corpus_mod.BASE_URL}/
docs_dir: docs
site_dir: site
use_directory_urls: true
theme:
  name: null
  custom_dir: theme
plugins: []
markdown_extensions:
  - extra
  - sane_lists
  - toc
""", encoding="utf-8")
    return Tool("mkdocs", root, [str(PEERS_VENV / "bin" / "mkdocs"), "build", "--quiet", "-f", "mkdocs.yml"],
                {"docs", "theme", "mkdocs.yml"}, "site", copies[edited_version(corpus)])


def hugo_peer(corpus: corpus_mod.Corpus, root: Path) -> Tool:
    """Hugo (Debian's package), no theme: single.html renders the content, list.html the home page and
    each policy's list of versions; Goldmark with tables, footnotes and definition lists on and its
    extras that Python-Markdown lacks (typographer, linkify, strikethrough) off. Its default outputs
    otherwise (an RSS feed per section and for the site, sitemap.xml); no taxonomies (the corpus has
    none). Its file cache is in the folder (HUGO_CACHEDIR), so a cold build starts without one."""
    copies = _write_versions(corpus, root, lambda policy, day: f"content/{policy}/{day}.md",
                             lambda meta, title, policy, day: [f"title: {json.dumps(title)}", f"date: {day}"]
                             + ([f"summary: {json.dumps(meta['summary'])}"] if meta.get("summary") else []))
    shutil.copytree(THEMES / "hugo-layouts", root / "layouts")
    (root / "hugo.toml").write_text(f"""\
baseURL = "{corpus_mod.BASE_URL}/"
title = "Bench"
languageCode = "en"
disableKinds = ["taxonomy", "term"]
buildFuture = true

[markup.goldmark.extensions]
table = true
footnote = true
definitionList = true
strikethrough = false
linkify = false
typographer = false

[markup.goldmark.renderer]
unsafe = true  # raw HTML passes through, as in Python-Markdown
""", encoding="utf-8")
    return Tool("hugo", root, ["hugo", "--quiet", "--minify=false", "--destination", "public"],
                {"content", "layouts", "hugo.toml"}, "public", copies[edited_version(corpus)],
                env={"HUGO_CACHEDIR": str(root / ".hugo-cache")})


def pelican_peer(corpus: corpus_mod.Corpus, root: Path) -> Tool:
    """Pelican with its built-in `simple` theme, every version a page, not in the menu (it would list
    all versions on every page), default feeds, no content cache."""
    copies = _write_versions(corpus, root, lambda policy, day: f"content/pages/{policy}-{day}.md",
                             lambda meta, title, policy, day: [f"Title: {title}", f"Date: {day}", f"Slug: {policy}-{day}"]
                             + ([f"Summary: {meta['summary']}"] if meta.get("summary") else []))
    (root / "pelicanconf.py").write_text("""\
AUTHOR = "Bench"
SITENAME = "Bench"
SITEURL = ""
PATH = "content"
PAGE_PATHS = ["pages"]
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
THEME = "simple"
RELATIVE_URLS = True
DISPLAY_PAGES_ON_MENU = False
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.sane_lists": {},
        "markdown.extensions.toc": {},
    },
    "output_format": "html5",
}
""", encoding="utf-8")
    return Tool("pelican", root, [str(PEERS_VENV / "bin" / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output", "-q"],
                {"content", "pelicanconf.py"}, "output", copies[edited_version(corpus)])


PEERS = {"hugo": hugo_peer, "mkdocs": mkdocs_peer, "pelican": pelican_peer}
LABELS = {"ours": "ours", "hugo": "Hugo", "mkdocs": "MkDocs", "pelican": "Pelican"}
DEFAULT_PEERS = "hugo,mkdocs"


def peers_for(corpus: corpus_mod.Corpus, size: str, names: list[str]) -> list[Tool]:
    root = WORK / f"peers-{size}"
    if root.exists():
        shutil.rmtree(root)
    return [PEERS[name](corpus, root / name) for name in names]


# --- the run ------------------------------------------------------------------------------------

REV = ""


def use_revision(rev: str) -> None:
    """Measure build.py, legalsite/ and templates/ as committed in ``rev`` (the .venv is the same)."""
    global SOURCE, REV
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    target = WORK / f"src-{sha[:12]}"
    if not (target / "build.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "build.py", "legalsite", "templates"], cwd=REPO,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    SOURCE, REV = target, sha


def compile_source() -> None:
    """Write the bytecode of the measured code, as pip does for an installed package: Python
    does not write it itself where PYTHONDONTWRITEBYTECODE is set (as on these machines), and
    every build would pay for compiling it again."""
    subprocess.run([str(our_python()), "-m", "compileall", "-q", str(SOURCE / "legalsite"), str(SOURCE / "build.py")],
                   check=True, stdout=subprocess.DEVNULL)


def machine() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    cpu = ""
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    except OSError:
        pass
    build_python = subprocess.run([str(our_python()), "-c", "import sys; print(sys.version.split()[0])"],
                                  capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": build_python,
        "commit": git("rev-parse", REV or "HEAD"),
        "measured": f"commit {REV}" if REV else "working tree",
        "worktree_dirty": False if REV else bool(git("status", "--porcelain", "--untracked-files=no", "--", "legalsite", "templates", "build.py")),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _stats(runs: list[Run], attr: str = "seconds") -> dict:
    values = [getattr(r, attr) for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "samples": [round(v, 4) for v in values]}


@dataclass
class SizeResult:
    size: str
    policies: int
    versions: int
    corpus: dict
    runs: dict[str, list[Run]] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)  # HTML pages each tool built
    cleared: dict = field(default_factory=dict)  # what each tool's cold build had to delete besides its output
    outside: list = field(default_factory=list)
    load: list = field(default_factory=list)  # 1-minute load average at the start of each repetition


def _top_level(path: Path) -> set[str]:
    try:
        return {p.name for p in path.iterdir()}
    except OSError:
        return set()


def bench_size(size: str, reps: int, peer_names: list[str], extra_cache: list[str], deadline: float | None) -> SizeResult:
    policies, versions = SIZES[size]
    root = WORK / f"corpus-{size}"
    corpus = corpus_mod.write_corpus(root, policies, versions)
    words = sorted(corpus.words)
    tools = [our_build(corpus, extra_cache)] + peers_for(corpus, size, peer_names)
    result = SizeResult(size, policies, versions, {
        "versions": len(corpus.files), "words_min": words[0], "words_median": words[len(words) // 2],
        "words_max": words[-1], "words_total": sum(words), "sha256": corpus.digest,
        "edited_version": str(tools[0].edited.relative_to(root)),
    })
    result.runs = {f"{t.name}_{phase}": [] for t in tools for phase in PHASES}
    watched = {REPO: _top_level(REPO), Path.home() / ".cache": _top_level(Path.home() / ".cache")}
    print(f"\n{size}: {len(corpus.files)} versions, {words[0]}-{words[-1]} words each "
          f"(median {words[len(words) // 2]}), corpus {corpus.digest[:12]}", flush=True)
    for rep in range(1, reps + 1):
        started = time.perf_counter()
        result.load.append(os.getloadavg()[0])
        for tool in tools:
            measured = {"cold": tool.cold()}
            if rep == 1:  # the site as a cold build left it
                result.pages[tool.name] = tool.pages()
                if tool is tools[0]:
                    result.facts = site_facts(corpus, tool.out)
            measured.update(no_change=tool.no_change(), one_edit=tool.one_edit(rep))
            for phase, r in measured.items():
                result.runs[f"{tool.name}_{phase}"].append(r)
            print(f"  rep {rep}/{reps} {tool.name}: " + ", ".join(
                f"{phase.replace('_', ' ')} {r.seconds:.2f}s" for phase, r in measured.items()), flush=True)
        took = time.perf_counter() - started
        if deadline is not None and rep < reps and time.perf_counter() + took > deadline:
            print(f"  stopping after {rep} repetition(s): another would pass the time budget (--budget)", flush=True)
            break
    for tool in tools:
        tool.restore()
        result.cleared[tool.name] = sorted(tool.cleared)
    for where, before in watched.items():
        new = sorted(_top_level(where) - before)
        result.outside += [str(where / n) for n in new if "cache" in n.lower()]
    return result


# `python -m cProfile -o` writes its file at the interpreter's exit, which the build skips (os._exit,
# see legalsite/cli.py entry): this runs the script under cProfile and writes the file either way.
_PROFILED = """
import cProfile, os, runpy, sys
out, sys.argv = sys.argv[1], sys.argv[2:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))  # as `python build.py` (and cProfile) do
profiler, real_exit = cProfile.Profile(), os._exit
def _exit(code):
    profiler.disable(); profiler.dump_stats(out); real_exit(code)
os._exit = _exit
profiler.enable()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    profiler.disable(); profiler.dump_stats(out)
"""


def profile(size: str, extra_cache: list[str], top: int = 20) -> str:
    """cProfile of one cold build, in one process; returns the top functions by cumulative time."""
    import pstats
    import io
    policies, versions = SIZES[size]
    corpus = corpus_mod.write_corpus(WORK / f"corpus-{size}", policies, versions)
    ours = our_build(corpus, extra_cache)
    ours.clear()
    stats_path = WORK / f"profile-{size}.pstats"
    cmd = [ours.cmd[0], "-c", _PROFILED, str(stats_path)] + ours.cmd[1:]
    # cProfile sees only its own process: profile the build in one process, when it can be asked to.
    usage = subprocess.run([ours.cmd[0], str(SOURCE / "build.py"), "build", "--help"], capture_output=True, text=True).stdout
    if "--jobs" in usage:
        cmd += ["--jobs", "1"]
    took = run(cmd, ours.root, ours.env).seconds
    buffer = io.StringIO()
    pstats.Stats(str(stats_path), stream=buffer).sort_stats("cumulative").print_stats(top)
    text = buffer.getvalue()
    text = text[text.find("   ncalls"):] if "   ncalls" in text else text
    return f"cProfile of one cold {size} build ({took:.1f} s under the profiler; {stats_path}):\n{text}"


# --- reporting ----------------------------------------------------------------------------------

BARS = {
    "cold vs Hugo": "ours <= Hugo (issue 20's goal)",
    "cold vs MkDocs": "ours <= 0.5 x MkDocs",
    "cold vs Pelican": "ours < Pelican",
    "no change": "< 1 s",
    "no change, issue 20": "<= 0.1 s (issue 20's goal)",
    "one edit": "< 0.5 s",
    "peak memory": "< 300 MB",
    "page in force": "< 20 KB HTML+CSS",
    "page in force, gzipped": "< 20 KB HTML+CSS as sent with gzip",
}
RATIO_BARS = {"hugo": ("cold vs Hugo", lambda ratio: ratio <= 1), "mkdocs": ("cold vs MkDocs", lambda ratio: ratio <= 0.5),
              "pelican": ("cold vs Pelican", lambda ratio: ratio < 1)}


def summarise(results: list[SizeResult], peers: dict[str, str], info: dict, reps: dict[str, int]) -> dict:
    out = {"machine": info, "peers": peers, "as_of": AS_OF, "bars": BARS, "sizes": {}}
    for r in results:
        size: dict = {"policies": r.policies, "versions": r.versions, "repetitions": len(r.runs["ours_cold"]),
                      "repetitions_asked": reps[r.size], "corpus": r.corpus, "site": r.facts,
                      "html_pages": r.pages, "cleared_before_cold": r.cleared,
                      "new_paths_outside_corpus": r.outside, "load_average_at_start": r.load,
                      "seconds": {}, "cpu_seconds": {}, "peak_memory_mb": {}}
        for name, runs in r.runs.items():
            size["seconds"][name] = _stats(runs)
            size["cpu_seconds"][name] = _stats(runs, "cpu_seconds")
            size["peak_memory_mb"][name] = {
                "median": statistics.median(x.peak_mb for x in runs), "max": max(x.peak_mb for x in runs),
                "max_rss_of_one_process": max(x.max_rss_mb for x in runs),
                "sampled_pss_of_process_tree": max(x.tree_pss_mb for x in runs),
            }
        for key, times in (("ratios", size["seconds"]), ("cpu_ratios", size["cpu_seconds"])):
            size[key] = {f"ours_{phase}/{peer}_{phase}": times[f"ours_{phase}"]["median"] / times[f"{peer}_{phase}"]["median"]
                         for peer in r.pages if peer != "ours" for phase in PHASES}
        size["bars_met"] = _bars(size)
        out["sizes"][r.size] = size
    return out


def _bars(size: dict) -> dict:
    s, m = size["seconds"], size["peak_memory_mb"]
    met = {}
    for peer, (bar, passes) in RATIO_BARS.items():
        if f"ours_cold/{peer}_cold" in size["ratios"]:
            met[bar] = passes(size["ratios"][f"ours_cold/{peer}_cold"])
    met.update({
        "no change": s["ours_no_change"]["median"] < 1.0,
        "no change, issue 20": s["ours_no_change"]["median"] <= 0.1,
        "one edit": s["ours_one_edit"]["median"] < 0.5,
        "peak memory": max(m[f"ours_{phase}"]["max"] for phase in PHASES) < 300,
        "page in force": size["site"]["in_force_page_of_largest_policy"]["total_bytes"] < 20 * 1024,
        "page in force, gzipped": size["site"]["in_force_page_of_largest_policy"]["total_gzip_bytes"] < 20 * 1024,
    })
    return met


def table(summary: dict) -> str:
    sizes = summary["sizes"]
    names = list(sizes)
    tools = list(dict.fromkeys(t for n in names for t in sizes[n]["html_pages"]))  # ours first, then the peers
    rows: list[tuple[str, ...]] = [("", *names)]

    def cells(fmt, key: str, field_: str = "seconds") -> tuple[str, ...]:
        return tuple("-" if key not in sizes[n][field_] else fmt(sizes[n][field_][key]) for n in names)

    def secs(s: dict) -> str:
        return f"{s['median']:.2f} s" + (f" ({s['min']:.2f}-{s['max']:.2f})" if len(s["samples"]) > 1 else "")

    def peak(n: str, tool: str, key: str = "max") -> str:
        return f"{max(sizes[n]['peak_memory_mb'][f'{tool}_{phase}'][key] for phase in PHASES):.0f}"

    rows.append(("repetitions", *(str(sizes[n]["repetitions"]) for n in names)))
    for tool in tools:
        label = LABELS[tool]
        rows.append((f"{label}: cold build", *cells(secs, f"{tool}_cold")))
        rows.append((f"{label}: rebuild, nothing changed", *cells(secs, f"{tool}_no_change")))
        rows.append((f"{label}: rebuild, one version edited", *cells(secs, f"{tool}_one_edit")))
        rows.append((f"{label}: cold build, CPU time (user+sys)", *cells(lambda s: f"{s['median']:.2f} s", f"{tool}_cold", "cpu_seconds")))
        rows.append((f"{label}: peak memory, all processes (MB)", *(
            peak(n, tool) if tool in sizes[n]["html_pages"] else "-" for n in names)))
        if tool == "ours":
            rows.append(("  largest single process (MB)", *(peak(n, tool, "max_rss_of_one_process") for n in names)))
    for tool in tools[1:]:
        for key, label in (("ratios", f"ratio ours / {LABELS[tool]}: cold, nothing changed, one edit"),
                           ("cpu_ratios", "  the same in CPU time")):
            rows.append((label, *(" / ".join(f"{sizes[n][key][f'ours_{phase}/{tool}_{phase}']:.2f}" for phase in PHASES)
                                  if tool in sizes[n]["html_pages"] else "-" for n in names)))
    rows.append(("page in force, largest (HTML + CSS)", *(
        "{html_bytes:,} + {css_bytes:,} = {total_bytes:,} B ({policy})".format(**sizes[n]["site"]["in_force_page_of_largest_policy"])
        for n in names)))
    rows.append(("  the same, gzipped", *(
        "{html_gzip_bytes:,} + {css_gzip_bytes:,} = {total_gzip_bytes:,} B".format(**sizes[n]["site"]["in_force_page_of_largest_policy"])
        for n in names)))
    rows.append(("redline pages built", *(str(sizes[n]["site"]["redline_pages"]) for n in names)))
    rows.append(("HTML pages: " + " / ".join(LABELS[t] for t in tools), *(
        " / ".join(str(sizes[n]["html_pages"].get(t, "-")) for t in tools) for n in names)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines.append("times are medians (min-max) of wall time, each build a fresh process")
    for n in names:
        met = sizes[n]["bars_met"]
        lines.append(f"bars at {n}: " + "; ".join(f"{k} ({BARS[k]}): {'met' if v else 'NOT met'}" for k, v in met.items()))
    busy = [n for n in names if max(sizes[n]["load_average_at_start"]) > 1.0]
    if busy:
        lines.append(f"warning: the machine was busy during {', '.join(busy)} (1-min load average up to "
                     f"{max(max(sizes[n]['load_average_at_start']) for n in busy):.1f} at the start of a repetition): "
                     "wall times are inflated; CPU times are less affected")
    info = summary["machine"]
    lines.append(f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; measured: "
                 + (f"commit {info['commit'][:12]}" if REV else f"working tree at {info['commit'][:12]}")
                 + (" + uncommitted changes" if info["worktree_dirty"] else ""))
    lines.append("peers: " + (", ".join(f"{k} {v}" for k, v in summary["peers"].items()) or "none (--no-peers)"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Figures and bars: benchmarks/README.md")
    parser.add_argument("--quick", action="store_true", help="10 x 10 only")
    parser.add_argument("--sizes", help="comma-separated sizes to run (default: 10x10,20x50)")
    parser.add_argument("--reps", type=int, help="repetitions per size (default: 5 at 10x10, 3 at 20x50)")
    parser.add_argument("--budget", type=float, default=540,
                        help="seconds: stop repeating a size once another repetition would pass this (0: no limit; default 540)")
    parser.add_argument("--peers", default=DEFAULT_PEERS, metavar="LIST",
                        help=f"comma-separated peers to build the same corpus with, from {', '.join(PEERS)} "
                             f"(default: {DEFAULT_PEERS})")
    parser.add_argument("--no-peers", action="store_true", help="only our build (same as --peers '')")
    parser.add_argument("--profile", action="store_true", help="also cProfile one cold build of the largest size")
    parser.add_argument("--cache-dir", action="append", default=[], metavar="PATH",
                        help="a cache location to delete before every cold build (also see CACHE_PATHS in this file)")
    parser.add_argument("--rev", metavar="REV",
                        help="measure this commit (extracted with git archive) instead of the working tree, "
                             "e.g. HEAD while others edit legalsite/")
    parser.add_argument("--json", type=Path, default=WORK / "results.json", metavar="PATH",
                        help="where to write the results (default: benchmarks/.work/results.json)")
    args = parser.parse_args(argv)
    sizes = ["10x10"] if args.quick else (args.sizes.split(",") if args.sizes else list(SIZES))
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}: choose from {', '.join(SIZES)}")
    peer_names = [] if args.no_peers else [p for p in args.peers.split(",") if p]
    unknown = [p for p in peer_names if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer {', '.join(unknown)}: choose from {', '.join(PEERS)}")
    WORK.mkdir(parents=True, exist_ok=True)
    if args.rev:
        use_revision(args.rev)
    compile_source()
    started = time.perf_counter()
    peers = ensure_peers(peer_names)
    info = machine()
    # The budget is shared out: each size may use the time its share of repetitions needs.
    reps = {s: args.reps or DEFAULT_REPS[s] for s in sizes}
    results = []
    for i, size in enumerate(sizes):
        deadline = None
        if args.budget:
            remaining = args.budget - (time.perf_counter() - started)
            deadline = time.perf_counter() + remaining * (1.0 if i == len(sizes) - 1 else 0.25)
        results.append(bench_size(size, reps[size], peer_names, args.cache_dir, deadline))
    summary = summarise(results, peers, info, reps)
    for r in results:
        if r.outside:
            print(f"warning: during the {r.size} runs the build may have created {', '.join(r.outside)} outside "
                  "the corpus folder; if that is a cache, name it in CACHE_PATHS (bench_build.py) or --cache-dir",
                  file=sys.stderr)
    if args.profile:
        text = profile(sizes[-1], args.cache_dir)
        summary["profile"] = text
    summary["total_seconds"] = time.perf_counter() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(summary))
    if args.profile:
        print()
        print(summary["profile"])
    print(f"\nresults: {args.json} ({summary['total_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
