"""Benchmark the site build against MkDocs and Pelican (issue 7).

    .venv/bin/python benchmarks/bench_build.py            # 10 x 10 and 20 x 50, the default repetitions
    .venv/bin/python benchmarks/bench_build.py --quick    # 10 x 10 only
    .venv/bin/python benchmarks/bench_build.py --reps 5 --json results.json

For each size (policies x versions) it writes the deterministic corpus of
``benchmarks/corpus.py`` under ``benchmarks/.work/``, then, repetition by
repetition, times

- our build, run as ``python build.py build ... --as-of 2030-01-01`` in a
  subprocess: cold (no output folder, no cache), again with nothing changed,
  and again after one sentence of one middle version was edited; with the peak
  memory of each run;
- MkDocs and Pelican, pinned versions installed by this script into
  ``benchmarks/.work/peers-venv``, building the same versions as pages with
  minimal themes, cold;

and prints the medians, the ratios of our cold build to each peer's, the size
of the page in force of the largest policy (HTML + CSS) and the number of
redline pages, as a table and as JSON (``benchmarks/.work/results.json``).
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

# The peers, pinned (checked with `pip index versions`); Markdown is the version our build uses.
PEER_PINS = {"mkdocs": "1.6.1", "pelican": "4.12.0", "markdown": "3.11.3"}
PEERS_VENV = WORK / "peers-venv"

# --- the build cache: the ONE place to tell the benchmark about it -------------------------------
# A cold build must start without any cache. Our build runs with the corpus folder as its working
# directory and XDG_CACHE_HOME inside it, and before every cold build everything in the corpus
# folder except content/ and site.toml is deleted (the output, and any cache the build keeps beside
# its content or in its working directory). A cache kept anywhere else must be named here, or with
# --cache-dir: these paths are deleted before every cold build, and CACHE_ENV is added to the
# build's environment ("{root}" is the corpus folder).
CACHE_PATHS: list[str] = []  # e.g. ["~/.cache/legalsite"]
CACHE_ENV: dict[str, str] = {"XDG_CACHE_HOME": "{root}/.xdg-cache"}  # e.g. add "LEGALSITE_CACHE": "{root}/.cache"
KEEP_IN_ROOT = {"content", "site.toml"}


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


# --- our generator -------------------------------------------------------------------------------

class Ours:
    def __init__(self, corpus: corpus_mod.Corpus, extra_cache: list[str]):
        self.corpus = corpus
        self.root = corpus.root
        self.out = self.root / "_site"
        self.env = {k: v.format(root=self.root) for k, v in CACHE_ENV.items()}
        self.cache_paths = [Path(os.path.expanduser(p.format(root=self.root))) for p in CACHE_PATHS + extra_cache]
        self.cmd = [str(our_python()), str(SOURCE / "build.py"), "build", "--content", "content", "--settings", "site.toml",
                    "--templates", str(SOURCE / "templates"), "--out", "_site", "--as-of", AS_OF]
        middle = corpus.versions_of(corpus.files[0].parent.name)
        self.edited = middle[len(middle) // 2]  # one middle version of the first policy
        self.original = self.edited.read_bytes()
        self.cleared: set[str] = set()

    def clear(self) -> None:
        """Everything a build may have left: output, staging folders, caches."""
        for path in list(self.root.iterdir()) + self.cache_paths:
            if path.name in KEEP_IN_ROOT and path.parent == self.root:
                continue
            if path.exists() or path.is_symlink():
                if path.name != "_site":
                    self.cleared.add(str(path.relative_to(self.root)) if path.parent == self.root else str(path))
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    def cold(self) -> Run:
        self.edited.write_bytes(self.original)  # every cold build builds the same corpus
        self.clear()
        return run(self.cmd, self.root, self.env)

    def no_change(self) -> Run:
        return run(self.cmd, self.root, self.env)

    def one_edit(self, n: int) -> Run:
        corpus_mod.edit_one_sentence(self.edited, n)
        return run(self.cmd, self.root, self.env)


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

def ensure_peers() -> dict[str, str]:
    """Create benchmarks/.work/peers-venv with the pinned peers unless it already has them."""
    python = PEERS_VENV / "bin" / "python"
    probe = "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in %r}))" % list(PEER_PINS)
    try:
        found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        found = {}
    if found != PEER_PINS:
        print(f"installing {', '.join(f'{k}=={v}' for k, v in PEER_PINS.items())} into {PEERS_VENV} ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *(f"{k}=={v}" for k, v in PEER_PINS.items())], check=True,
                       stdout=subprocess.DEVNULL)
        found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    return found


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


def write_peer_inputs(corpus: corpus_mod.Corpus, root: Path) -> tuple[Path, Path]:
    """The same versions for MkDocs (docs/<policy>/<date>.md) and Pelican (content/pages/...)."""
    if root.exists():
        shutil.rmtree(root)
    mk, pel = root / "mkdocs", root / "pelican"
    latest: dict[str, tuple[str, str]] = {}
    index = ["# Policies", ""]
    for path in corpus.files:
        meta, body = _split(path)
        policy, day = path.parent.name, path.stem
        title = f"{meta['title']} ({day})"
        target = mk / "docs" / policy / f"{day}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"---\ntitle: {json.dumps(title)}\n---\n\n{body}", encoding="utf-8")
        latest[policy] = (meta["title"], f"{policy}/{day}.md")
        lines = [f"Title: {title}", f"Date: {day}", f"Slug: {policy}-{day}"]
        if meta.get("summary"):
            lines.append(f"Summary: {meta['summary']}")
        target = pel / "content" / "pages" / f"{policy}-{day}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    index += [f"- [{title}]({page})" for title, page in latest.values()]
    (mk / "docs" / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    # The navigation lists each policy's newest version, like our home page; every version is
    # still built as a page. (MkDocs' automatic nav would put all versions on every page.)
    nav = "\n".join(f"  - {json.dumps(title)}: {page}" for title, page in latest.values())
    (mk / "mkdocs.yml").write_text(f"""\
site_name: Bench
site_url: {corpus_mod.BASE_URL}/
docs_dir: docs
site_dir: site
use_directory_urls: true
theme:
  name: mkdocs
plugins: []
markdown_extensions:
  - extra
  - sane_lists
  - toc
nav:
  - Home: index.md
{nav}
""", encoding="utf-8")
    (pel / "pelicanconf.py").write_text(f"""\
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
PAGE_URL = "{{slug}}/"
PAGE_SAVE_AS = "{{slug}}/index.html"
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
MARKDOWN = {{
    "extension_configs": {{
        "markdown.extensions.extra": {{}},
        "markdown.extensions.sane_lists": {{}},
        "markdown.extensions.toc": {{}},
    }},
    "output_format": "html5",
}}
""", encoding="utf-8")
    return mk, pel


class Peer:
    def __init__(self, name: str, cwd: Path, cmd: list[str], out: str, scratch: tuple[str, ...] = ()):
        self.name, self.cwd, self.cmd, self.out, self.scratch = name, cwd, cmd, cwd / out, scratch

    def cold(self) -> Run:
        for path in [self.out, *(self.cwd / s for s in self.scratch)]:
            if path.exists():
                shutil.rmtree(path)
        return run(self.cmd, self.cwd)

    def pages(self) -> int:
        return sum(1 for _ in self.out.rglob("*.html"))


def peers_for(corpus: corpus_mod.Corpus, size: str) -> list[Peer]:
    mk, pel = write_peer_inputs(corpus, WORK / f"peers-{size}")
    bin_dir = PEERS_VENV / "bin"
    return [
        Peer("mkdocs", mk, [str(bin_dir / "mkdocs"), "build", "--quiet", "--clean", "-f", "mkdocs.yml"], "site"),
        Peer("pelican", pel, [str(bin_dir / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output", "-q"],
             "output", ("__pycache__", "cache")),
    ]


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
    peer_pages: dict = field(default_factory=dict)
    cleared: list = field(default_factory=list)
    outside: list = field(default_factory=list)
    load: list = field(default_factory=list)  # 1-minute load average at the start of each repetition


def _top_level(path: Path) -> set[str]:
    try:
        return {p.name for p in path.iterdir()}
    except OSError:
        return set()


def bench_size(size: str, reps: int, with_peers: bool, extra_cache: list[str], deadline: float | None) -> SizeResult:
    policies, versions = SIZES[size]
    root = WORK / f"corpus-{size}"
    corpus = corpus_mod.write_corpus(root, policies, versions)
    words = sorted(corpus.words)
    ours = Ours(corpus, extra_cache)
    result = SizeResult(size, policies, versions, {
        "versions": len(corpus.files), "words_min": words[0], "words_median": words[len(words) // 2],
        "words_max": words[-1], "words_total": sum(words), "sha256": corpus.digest,
        "edited_version": str(ours.edited.relative_to(root)),
    })
    peers = peers_for(corpus, size) if with_peers else []
    names = ["ours_cold", "ours_no_change", "ours_one_edit"] + [f"{p.name}_cold" for p in peers]
    result.runs = {n: [] for n in names}
    watched = {REPO: _top_level(REPO), Path.home() / ".cache": _top_level(Path.home() / ".cache")}
    print(f"\n{size}: {len(corpus.files)} versions, {words[0]}-{words[-1]} words each "
          f"(median {words[len(words) // 2]}), corpus {corpus.digest[:12]}", flush=True)
    for rep in range(1, reps + 1):
        started = time.perf_counter()
        result.load.append(os.getloadavg()[0])
        cold = ours.cold()
        if rep == 1:
            result.facts = site_facts(corpus, ours.out)
        measured = {"ours_cold": cold, "ours_no_change": ours.no_change(), "ours_one_edit": ours.one_edit(rep)}
        for peer in peers:
            measured[f"{peer.name}_cold"] = peer.cold()
            if rep == 1:
                result.peer_pages[peer.name] = peer.pages()
        for name, r in measured.items():
            result.runs[name].append(r)
        print(f"  rep {rep}/{reps}: " + ", ".join(f"{n} {r.seconds:.2f}s" for n, r in measured.items()), flush=True)
        took = time.perf_counter() - started
        if deadline is not None and rep < reps and time.perf_counter() + took > deadline:
            print(f"  stopping after {rep} repetition(s): another would pass the time budget (--budget)", flush=True)
            break
    ours.edited.write_bytes(ours.original)
    result.cleared = sorted(ours.cleared)
    for where, before in watched.items():
        new = sorted(_top_level(where) - before)
        result.outside += [str(where / n) for n in new if "cache" in n.lower()]
    return result


def profile(size: str, extra_cache: list[str], top: int = 20) -> str:
    """cProfile of one cold build, in one process; returns the top functions by cumulative time."""
    import pstats
    import io
    policies, versions = SIZES[size]
    corpus = corpus_mod.write_corpus(WORK / f"corpus-{size}", policies, versions)
    ours = Ours(corpus, extra_cache)
    ours.clear()
    stats_path = WORK / f"profile-{size}.pstats"
    cmd = [ours.cmd[0], "-m", "cProfile", "-o", str(stats_path)] + ours.cmd[1:]
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
    "cold vs MkDocs": "ours <= 0.5 x MkDocs",
    "cold vs Pelican": "ours < Pelican",
    "no change": "< 1 s",
    "one edit": "< 0.5 s",
    "peak memory": "< 300 MB",
    "page in force": "< 20 KB HTML+CSS",
    "page in force, gzipped": "< 20 KB HTML+CSS as sent with gzip",
}


def summarise(results: list[SizeResult], peers: dict[str, str], info: dict, reps: dict[str, int]) -> dict:
    out = {"machine": info, "peers": peers, "as_of": AS_OF, "bars": BARS, "sizes": {}}
    for r in results:
        size: dict = {"policies": r.policies, "versions": r.versions, "repetitions": len(r.runs["ours_cold"]),
                      "repetitions_asked": reps[r.size], "corpus": r.corpus, "site": r.facts,
                      "peer_html_pages": r.peer_pages, "cleared_before_cold": r.cleared,
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
        cold = size["seconds"]["ours_cold"]["median"]
        size["ratios"] = {f"ours_cold/{p}_cold": cold / size["seconds"][f"{p}_cold"]["median"]
                          for p in ("mkdocs", "pelican") if f"{p}_cold" in size["seconds"]}
        size["bars_met"] = _bars(size)
        out["sizes"][r.size] = size
    return out


def _bars(size: dict) -> dict:
    s, m = size["seconds"], size["peak_memory_mb"]
    met = {
        "no change": s["ours_no_change"]["median"] < 1.0,
        "one edit": s["ours_one_edit"]["median"] < 0.5,
        "peak memory": max(m[k]["max"] for k in ("ours_cold", "ours_no_change", "ours_one_edit")) < 300,
        "page in force": size["site"]["in_force_page_of_largest_policy"]["total_bytes"] < 20 * 1024,
        "page in force, gzipped": size["site"]["in_force_page_of_largest_policy"]["total_gzip_bytes"] < 20 * 1024,
    }
    if "ours_cold/mkdocs_cold" in size["ratios"]:
        met["cold vs MkDocs"] = size["ratios"]["ours_cold/mkdocs_cold"] <= 0.5
    if "ours_cold/pelican_cold" in size["ratios"]:
        met["cold vs Pelican"] = size["ratios"]["ours_cold/pelican_cold"] < 1.0
    return met


def table(summary: dict) -> str:
    sizes = summary["sizes"]
    names = list(sizes)
    rows: list[tuple[str, ...]] = [("", *names)]

    def secs(key: str) -> tuple[str, ...]:
        cells = []
        for n in names:
            s = sizes[n]["seconds"].get(key)
            cells.append("-" if s is None else
                         f"{s['median']:.2f} s" + (f" ({s['min']:.2f}-{s['max']:.2f})" if len(s["samples"]) > 1 else ""))
        return tuple(cells)

    rows.append(("repetitions", *(str(sizes[n]["repetitions"]) for n in names)))
    rows.append(("ours: cold build", *secs("ours_cold")))
    rows.append(("ours: rebuild, nothing changed", *secs("ours_no_change")))
    rows.append(("ours: rebuild, one version edited", *secs("ours_one_edit")))
    rows.append(("ours: cold build, CPU time (user+sys)", *(
        f"{sizes[n]['cpu_seconds']['ours_cold']['median']:.2f} s" for n in names)))
    ours_keys = ("ours_cold", "ours_no_change", "ours_one_edit")
    rows.append(("ours: peak memory, all processes (MB)", *(
        f"{max(sizes[n]['peak_memory_mb'][k]['max'] for k in ours_keys):.0f}" for n in names)))
    rows.append(("  largest single process (MB)", *(
        f"{max(sizes[n]['peak_memory_mb'][k]['max_rss_of_one_process'] for k in ours_keys):.0f}" for n in names)))
    rows.append(("MkDocs: cold build", *secs("mkdocs_cold")))
    rows.append(("Pelican: cold build", *secs("pelican_cold")))
    for peer, label in (("mkdocs", "MkDocs"), ("pelican", "Pelican")):
        rows.append((f"ratio ours cold / {label} cold", *(
            f"{sizes[n]['ratios'][f'ours_cold/{peer}_cold']:.2f}" if f"ours_cold/{peer}_cold" in sizes[n]["ratios"]
            else "-" for n in names)))
    rows.append(("peers' CPU time MkDocs / Pelican", *(
        " / ".join(f"{sizes[n]['cpu_seconds'][k]['median']:.2f} s" for k in ("mkdocs_cold", "pelican_cold")
                   if k in sizes[n]["cpu_seconds"]) or "-" for n in names)))
    rows.append(("peers' peak memory MkDocs / Pelican (MB)", *(
        " / ".join(f"{sizes[n]['peak_memory_mb'][k]['max']:.0f}" for k in ("mkdocs_cold", "pelican_cold")
                   if k in sizes[n]["peak_memory_mb"]) or "-" for n in names)))
    rows.append(("page in force, largest (HTML + CSS)", *(
        "{html_bytes:,} + {css_bytes:,} = {total_bytes:,} B ({policy})".format(**sizes[n]["site"]["in_force_page_of_largest_policy"])
        for n in names)))
    rows.append(("  the same, gzipped", *(
        "{html_gzip_bytes:,} + {css_gzip_bytes:,} = {total_gzip_bytes:,} B".format(**sizes[n]["site"]["in_force_page_of_largest_policy"])
        for n in names)))
    rows.append(("redline pages built", *(str(sizes[n]["site"]["redline_pages"]) for n in names)))
    rows.append(("HTML pages: ours / MkDocs / Pelican", *(
        " / ".join([str(sizes[n]["site"]["html_pages"])] + [str(v) for v in sizes[n]["peer_html_pages"].values()])
        for n in names)))
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
    lines.append("peers: " + ", ".join(f"{k} {v}" for k, v in summary["peers"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Figures and bars: benchmarks/README.md")
    parser.add_argument("--quick", action="store_true", help="10 x 10 only")
    parser.add_argument("--sizes", help="comma-separated sizes to run (default: 10x10,20x50)")
    parser.add_argument("--reps", type=int, help="repetitions per size (default: 5 at 10x10, 3 at 20x50)")
    parser.add_argument("--budget", type=float, default=540,
                        help="seconds: stop repeating a size once another repetition would pass this (0: no limit; default 540)")
    parser.add_argument("--no-peers", action="store_true", help="only our build")
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
    WORK.mkdir(parents=True, exist_ok=True)
    if args.rev:
        use_revision(args.rev)
    compile_source()
    started = time.perf_counter()
    peers = ensure_peers() if not args.no_peers else {}
    info = machine()
    # The budget is shared out: each size may use the time its share of repetitions needs.
    reps = {s: args.reps or DEFAULT_REPS[s] for s in sizes}
    results = []
    for i, size in enumerate(sizes):
        deadline = None
        if args.budget:
            remaining = args.budget - (time.perf_counter() - started)
            deadline = time.perf_counter() + remaining * (1.0 if i == len(sizes) - 1 else 0.25)
        results.append(bench_size(size, reps[size], not args.no_peers, args.cache_dir, deadline))
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
