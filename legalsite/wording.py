"""Words readers see next to a number: "1 word", "2 words", never "1 words".

English only, as the site is; one function so that templates (the ``counted``
filter) and command-line summaries say counts the same way.
"""

from __future__ import annotations


def counted(number: int, singular: str, plural: str = "") -> str:
    """``"1 policy"``, ``"2 policies"``: the number and the noun in the form it needs.

    ``plural`` defaults to ``singular + "s"``; give it for irregular nouns."""
    noun = singular if number == 1 else (plural or singular + "s")
    return f"{number} {noun}"
