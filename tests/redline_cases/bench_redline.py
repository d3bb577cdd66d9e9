"""Benchmark of the redline engine (not a test): python tests/redline_cases/bench_redline.py

Builds two ~6,000-word policy versions (many sections, lists, tables; the second with
scattered edits, an inserted section that renumbers the rest, a moved and a removed section)
and prints the median time of redline() plus a worst case (every paragraph rewritten) and a
scaling check (one big section of 6k and 24k words) to show there is no quadratic blow-up.
"""
from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import markdown  # noqa: E402

from legalsite.redline import redline  # noqa: E402

VOCAB = ("data personal we you our service account may must process share store retain law request "
         "provider contract security purpose consent legitimate interest rights access delete cookie "
         "analytics server log address email name payment invoice period days years country transfer").split()


def md(src):
    return markdown.markdown(src, extensions=["extra", "toc", "sane_lists", "smarty"])


def sentence(rng, n=None):
    words = [rng.choice(VOCAB) for _ in range(n or rng.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def policy(rng, sections=60, words=6000):
    out, count, k = [], 0, 0
    while count < words:
        k += 1
        out.append(f"## {k}. Section about {rng.choice(VOCAB)} {k}\n")
        for _ in range(rng.randint(1, 3)):
            para = " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))
            out.append(para + "\n")
            count += len(para.split())
        if k % 3 == 0:
            out.append("\n".join(f"- {sentence(rng, 6)}" for _ in range(4)) + "\n")
            count += 28
        if k % 7 == 0:
            out.append("| A | B |\n| --- | --- |\n" + "\n".join(f"| {sentence(rng, 3)} | {rng.randint(1, 99)} days |"
                                                           for _ in range(3)) + "\n")
            count += 15
    return out


def edit(blocks, rng, rate=0.15, rewrite=False):
    new = []
    for b in blocks:
        if not b.startswith("#") and (rewrite or rng.random() < rate):
            words = b.split(" ")
            if rewrite:
                words = [rng.choice(VOCAB) if rng.random() < 0.5 else w for w in words]
            else:
                for _ in range(3):
                    i = rng.randrange(len(words))
                    words[i] = rng.choice(VOCAB)
                words.insert(rng.randrange(len(words)), sentence(rng))
            b = " ".join(words)
        new.append(b)
    return new


def renumber(blocks):
    out, k = [], 0
    for b in blocks:
        if b.startswith("## "):
            k += 1
            b = f"## {k}. " + b.split(". ", 1)[1]
        out.append(b)
    return out


def timeit(old, new, runs=7):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = redline(old, new)
        times.append(time.perf_counter() - t)
    return statistics.median(times), r


def main():
    rng = random.Random(42)
    base = policy(rng)
    new = edit(base, rng)
    new = new[:30] + ["## 0. Inserted section\n", sentence(rng) + "\n"] + new[30:]  # renumbers the rest
    heads = [i for i, b in enumerate(new) if b.startswith("## ")]
    moved = new[heads[5]:heads[6]]
    new = new[:heads[5]] + new[heads[6]:]
    new = new + moved
    del new[heads[20]:heads[20] + 2]
    old_md, new_md = "\n".join(base), "\n".join(renumber(new))
    old, new_html = md(old_md), md(new_md)
    words = len(old_md.split()), len(new_md.split())
    t, r = timeit(old, new_html)
    print(f"typical edit, {words[0]} -> {words[1]} words: {t * 1000:.1f} ms  {r.stats}")
    t, r = timeit(old, md("\n".join(edit(base, rng, rewrite=True))))
    print(f"every paragraph rewritten:               {t * 1000:.1f} ms  {r.stats}")
    t, r = timeit(old, old)
    print(f"identical:                               {t * 1000:.1f} ms")
    for n in (6000, 24000):
        body = " ".join(sentence(rng) for _ in range(n // 14))
        body2 = " ".join(edit([body], rng, rate=1.0))
        t, r = timeit(md("## One\n\n" + body), md("## One\n\n" + body2), runs=3)
        print(f"one {n}-word paragraph, edited:        {t * 1000:.1f} ms")


if __name__ == "__main__":
    main()
