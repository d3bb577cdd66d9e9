"""The site's own words in other languages (issue 17): gettext catalogues through Babel.

Policy text is translated by people, in ``content/<policy>/<date>.<lang>.md``
(translations.py). The words the templates add around it (headings, labels,
banners, dates) come from one catalogue per language,
``templates/locale/<lang>/LC_MESSAGES/messages.po``, read with Babel and used by
Jinja's ``jinja2.ext.i18n`` in the one Environment (theme.py). The gettext
functions pick the catalogue of the page being rendered (its ``lang``); pages in
the site's default language use the templates' own words.

A message a translated page needs and its catalogue lacks is a build error
(:func:`missing_messages`, each at the catalogue's path): a German page never
shows an English label.

Babel is imported inside the functions that use it, so a site in one language never loads it:
importing it took 7.7-10.4 ms of every build and ``check`` (3 runs, after Jinja, Markdown, lxml and
YAML were loaded; 2026-12-06, the shared 2-core machine), about 2 % of one edit at 20 x 50.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jinja2

from .model import ContentError

# A well-formed BCP 47 tag as the site uses them: language, then optional script, region or
# variant subtags (RFC 5646, section 2.1, without extensions and private use).
_BCP47 = re.compile(
    r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$"
)

CATALOGUE = "locale/{lang}/LC_MESSAGES/messages.po"  # under templates/


def check_languages(value: object, default: str, err: Callable[[str], None]) -> tuple[str, ...]:
    """``[site] languages``: distinct BCP 47 tags Babel knows, none the default language."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        err('languages must be a list of language tags, e.g. languages = ["de", "fr"]')
        return ()
    good = []
    for tag in value:
        if not _BCP47.match(tag):
            err(
                f"languages: {tag!r} is not a BCP 47 language tag as written on the web: "
                'use e.g. "de", "fr", "pt-BR" or "zh-Hant"'
            )
        elif tag == default:
            err(f"languages: {tag!r} is the site's own language ([site] language): remove it")
        elif tag in good:
            err(f"languages: {tag!r} is listed twice: keep one")
        else:
            from babel import Locale, UnknownLocaleError  # imported where used: the docstring

            try:
                Locale.parse(tag, sep="-")
            except (UnknownLocaleError, ValueError):
                err(f"languages: {tag!r} is not a language Babel knows: check the tag")
                continue
            good.append(tag)
    return tuple(good)


@dataclass(frozen=True)
class Catalogue:
    """One language's messages: msgid -> translation (only translated, non-fuzzy ones)."""

    lang: str
    path: str  # for messages, e.g. templates/locale/de/LC_MESSAGES/messages.po
    messages: Mapping[str, str]
    plurals: Mapping[str, tuple[str, ...]]
    plural_index: Callable[[int], int]


def read_catalogue(lang: str, data: bytes | None, display: str) -> tuple[Catalogue, list]:
    """A language's catalogue from its .po bytes (None: no file), and its errors."""
    problem = (
        f"no catalogue for {lang}: create it with 'pybabel init -i templates/locale/messages.pot "
        f"-d templates/locale -l {lang}' and translate every message"
    )
    if data is not None:
        from babel import Locale
        from babel.messages.pofile import PoFileError, read_po

        try:
            catalog = read_po(
                io.BytesIO(data), locale=Locale.parse(lang, sep="-"), abort_invalid=True
            )
            problem = ""
        except (PoFileError, ValueError) as exc:
            problem = f"not a valid gettext catalogue: {exc}"
    if problem:
        return Catalogue(lang, display, {}, {}, lambda n: 0), [ContentError(display, 1, problem)]
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            strings = tuple(message.string) if isinstance(message.string, tuple) else ()
            if strings and all(strings):
                plurals[message.id[0]] = strings
        elif message.string:
            messages[str(message.id)] = str(message.string)
    import gettext  # c2py: the plural rule's C expression as a function, as gettext reads .mo files

    return Catalogue(lang, display, messages, plurals, gettext.c2py(catalog.plural_expr)), []


def missing_messages(
    env: jinja2.Environment, sources: Mapping[str, str], catalogue: Catalogue, words=()
) -> list[ContentError]:
    """Every message the templates ``sources`` (name -> text, under templates/) use, and every
    one of ``words`` (redline.WORDS), that ``catalogue`` lacks."""
    wanted = [(word, "a redline's words, legalsite/redline.py", False) for word in words]
    for name, text in sorted(sources.items()):
        for line, function, message in env.extract_translations(text):  # type: ignore[attr-defined]
            # a call with keywords gives a tuple (msgid, None, …); ngettext (singular, plural, …)
            singular = message[0] if isinstance(message, tuple) else message
            plural = function in ("ngettext", "npgettext")
            wanted.append((singular, f"used in templates/{name}:{line}", plural))
    return [
        ContentError(
            catalogue.path,
            1,
            f"missing translation of {msgid!r} ({where}): "
            "add it to the catalogue (msgid and msgstr), without a fuzzy flag",
        )
        for msgid, where, plural in wanted
        if msgid and msgid not in (catalogue.plurals if plural else catalogue.messages)
    ]


class MissingMessage(Exception):
    """A message asked for at render time that the page's catalogue lacks (a message
    not written literally in a template, so that missing_messages could not see it)."""


def install(env: jinja2.Environment) -> None:
    """``jinja2.ext.i18n``'s gettext callables on the one ``env``: each uses the ``catalogue``
    of the page rendered (render_i18n.py passes it), and the templates' own words when the
    page has none (every page in the site's default language)."""

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, message: str) -> str:
        catalogue = context.get("catalogue")
        if catalogue is None:
            return message
        found = catalogue.messages.get(message)
        if found is None:
            raise MissingMessage(f"{catalogue.path}: missing translation of {message!r}")
        return found

    @jinja2.pass_context
    def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
        catalogue = context.get("catalogue")
        if catalogue is None:
            return singular if n == 1 else plural
        forms = catalogue.plurals.get(singular)
        if forms is None:
            raise MissingMessage(f"{catalogue.path}: missing translation of {singular!r}")
        return forms[min(catalogue.plural_index(n), len(forms) - 1)]

    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]


def date_filter(english: Callable[..., str]) -> Callable[..., str]:
    """``human_date`` for every page: the site's own words in the default language
    (timeline.human_date), Babel's long date form (or month and year) in any other."""

    @jinja2.pass_context
    def human_date(context: jinja2.runtime.Context, value) -> str:
        lang = context.get("lang")
        if lang is None or lang == context.get("settings").language:
            return english(value)
        day = value if isinstance(value, dt.date) else value.effective
        month_only = not isinstance(value, dt.date) and value.month_only
        from babel import Locale
        from babel.dates import format_date, format_skeleton

        locale = Locale.parse(lang, sep="-")
        if month_only:
            return format_skeleton("yMMMM", day, locale=locale)
        return format_date(day, format="long", locale=locale)

    return human_date
