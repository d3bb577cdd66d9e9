"""A deterministic corpus of realistic policy versions, for benchmarks.

``write_corpus(root, policies, versions)`` writes ``root/content/<policy>/<date>.md``
and ``root/site.toml``: ``policies`` policies with ``versions`` versions each.
Each policy is a document of numbered ``## N. Title`` sections with ``###``
subsections, paragraphs of legal prose from a small grammar, bullet and numbered
lists, tables, definition lists and links (to other policies, to sections of the
same policy and to other sites). Every version is a few edits away from the
previous one: reworded, inserted and removed sentences, list items and table
cells, and now and then a section inserted in the middle (renumbering the later
ones) or removed. Every version has 1,500-6,000 words, front matter our
generator accepts (title, effective, and a summary on every version after the
first), and effective dates 35-60 days apart, all before ``AS_OF``.

Only the standard library is used, and everything comes from
``random.Random`` seeded with a string, so the same arguments give the same
bytes on every machine and Python version. Each policy has its own random
stream and links only to the first ten policies, so a corpus of ten or more
policies is a prefix of a bigger one (the first 10 versions of the first 10
policies of 20 x 50 are exactly the 10 x 10 corpus).

    python benchmarks/corpus.py OUT_DIR --policies 20 --versions 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = "legalsite-bench-1"
FIRST_DAY = dt.date(2012, 1, 2)
AS_OF = dt.date(2030, 1, 1)  # the fixed build day of the benchmark: every version is in the past
MIN_WORDS, MAX_WORDS = 1500, 6000
CONTACT_EMAIL = "privacy@example.com"
BASE_URL = "https://legal.example.com"

# --- the policies ------------------------------------------------------------

POLICY_KINDS = [
    ("privacy", "Privacy Policy"),
    ("terms", "Terms of Service"),
    ("cookies", "Cookie Policy"),
    ("acceptable-use", "Acceptable Use Policy"),
    ("data-processing", "Data Processing Addendum"),
    ("service-levels", "Service Level Agreement"),
    ("security", "Security Overview"),
    ("subprocessors", "Subprocessor Policy"),
    ("refunds", "Refund Policy"),
    ("copyright", "Copyright and DMCA Policy"),
    ("community", "Community Guidelines"),
    ("api-terms", "API Terms of Use"),
    ("partners", "Partner Program Terms"),
    ("enterprise", "Enterprise Subscription Agreement"),
    ("beta", "Beta Services Terms"),
    ("disclosure", "Vulnerability Disclosure Policy"),
    ("accessibility", "Accessibility Statement"),
    ("modern-slavery", "Modern Slavery Statement"),
    ("law-enforcement", "Law Enforcement Request Guidelines"),
    ("trademarks", "Trademark Guidelines"),
    ("retention", "Data Retention Schedule"),
    ("marketplace", "Marketplace Seller Terms"),
    ("ai-usage", "AI Usage Policy"),
    ("gift-cards", "Gift Card Terms"),
]

SECTION_TITLES = [
    "Scope", "Definitions", "Information We Collect", "How We Use Information", "Legal Bases for Processing",
    "Sharing and Disclosure", "International Transfers", "Data Retention", "Security", "Your Rights",
    "Children", "Cookies and Similar Technologies", "Marketing Communications", "Automated Decision-Making",
    "Accounts and Registration", "Fees and Payment", "Acceptable Use", "Customer Content", "Intellectual Property",
    "Third-Party Services", "Confidentiality", "Warranties and Disclaimers", "Limitation of Liability",
    "Indemnification", "Term and Termination", "Suspension", "Service Levels", "Support", "Subprocessors",
    "Audit Rights", "Security Incidents", "Dispute Resolution", "Governing Law", "Export Controls",
    "Force Majeure", "Assignment", "Notices", "Changes to This Policy", "Beta Features", "Enforcement",
    "Reporting Violations", "Records and Reporting", "Government Requests", "Feedback", "Publicity",
    "Insurance", "Compliance with Laws", "Anti-Corruption", "Service Credits", "Maintenance Windows",
]
SUBSECTION_TITLES = [
    "General", "Exceptions", "Procedure", "Timing", "Customer Obligations", "Our Obligations", "Notifications",
    "Records", "Third Parties", "Limitations", "Requests from Authorities", "Verification", "Fees",
    "Effect of Termination", "Survival", "Objections", "Transfers Outside the EEA", "Retention Periods",
    "Technical Measures", "Organisational Measures", "Remedies", "Eligibility", "Scope of Licence",
    "Restrictions", "How to Contact Us", "Appeals",
]

# --- the grammar -------------------------------------------------------------

WORDS = {
    "actor": ["we", "1vy", "the Company", "our service providers", "our affiliates", "each Customer",
              "the Customer", "you", "the Processor", "the Controller", "each party", "our support team"],
    "modal": ["may", "will", "shall", "must", "may not", "shall not", "will only", "may from time to time"],
    "verb": ["collect", "process", "retain", "disclose", "share", "use", "store", "transfer", "anonymise",
             "delete", "aggregate", "analyse", "review", "encrypt", "back up", "restrict access to", "correct"],
    "data": ["Personal Data", "Usage Data", "Customer Content", "billing information", "account credentials",
             "log files", "device identifiers", "support correspondence", "payment card details",
             "IP addresses", "API request metadata", "aggregated statistics", "contact details",
             "information about your use of the Services", "Customer Data", "authentication tokens",
             "precise location data", "records of your consent", "audit logs", "backup copies"],
    "purpose": ["to provide and maintain the Services", "to process payments and prevent fraud",
                "to comply with our legal obligations", "to respond to your requests",
                "to improve the performance and reliability of the Services", "to secure our systems",
                "to enforce this Policy", "to send you service announcements",
                "for the purposes described in this Policy", "to investigate suspected abuse",
                "to calculate fees and issue invoices", "to provide customer support",
                "to meet our contractual obligations to you", "to detect and prevent security incidents"],
    "condition": ["where required by applicable law", "unless you have given your consent",
                  "except as otherwise provided in this Agreement", "to the extent permitted by law",
                  "subject to the limitations in this Policy", "where it is technically feasible",
                  "unless prohibited by a court order", "on your documented instructions",
                  "if we have a legitimate interest in doing so", "during the term of your subscription",
                  "where the request is manifestly unfounded or excessive", "after reasonable notice to you"],
    "period": ["30 days", "60 days", "90 days", "six months", "twelve months", "two years", "three years",
               "seven years", "14 days", "72 hours", "five business days", "one month", "180 days"],
    "event": ["the termination of your account", "the end of the billing period", "receipt of a valid request",
              "the date of the incident", "the expiry of the subscription term", "your last login",
              "the completion of the transaction", "our becoming aware of the breach",
              "the closing of the support ticket", "the effective date of the change"],
    "recipient": ["our payment processors", "cloud hosting providers", "upstream model providers",
                  "professional advisers", "law enforcement authorities", "our auditors",
                  "successor entities in a merger or acquisition", "analytics providers we host ourselves",
                  "customer support platforms", "fraud prevention services", "our subprocessors"],
    "measure": ["encryption in transit", "encryption at rest", "role-based access controls",
                "multi-factor authentication", "regular penetration tests", "logging and monitoring",
                "network segmentation", "background checks of staff", "least-privilege access",
                "secure software development practices", "annual security training", "vulnerability scanning"],
    "threat": ["unauthorised access", "accidental loss", "alteration", "unlawful destruction",
               "disclosure to third parties", "misuse", "denial of service"],
    "right": ["access", "rectification", "erasure", "restriction of processing", "data portability",
              "object to processing", "withdraw consent", "lodge a complaint with a supervisory authority"],
    "law": ["the GDPR", "the UK GDPR", "the California Consumer Privacy Act", "applicable data protection law",
            "the Swiss Federal Act on Data Protection", "the law of your country of residence",
            "Brazil's LGPD", "the ePrivacy Directive"],
    "basis": ["on the basis of your consent", "where necessary for the performance of a contract",
              "to comply with a legal obligation", "on the basis of our legitimate interests",
              "to protect the vital interests of a person"],
    "obligation": ["written confidentiality obligations", "a data processing agreement",
                   "the Standard Contractual Clauses", "obligations at least as protective as this Policy",
                   "our supplier code of conduct"],
    "remedy": ["suspend access to the Services", "terminate the Agreement with immediate effect",
               "issue a service credit", "refund any prepaid fees for the remaining term",
               "remove the content concerned", "require the affected account to reset its credentials",
               "seek injunctive relief"],
    "damages": ["indirect or consequential damages", "loss of profits or revenue", "loss of data",
                "damages exceeding the fees paid in the twelve months before the claim",
                "business interruption", "punitive or exemplary damages"],
    "jurisdiction": ["Ireland", "England and Wales", "the State of Delaware", "the Netherlands",
                     "Switzerland", "the State of California", "Germany"],
    "notice_way": ["by e-mail to the address associated with the account", "through the account dashboard",
                   "by registered post to our registered office", "with at least 30 days' notice"],
    "party": ["the Customer", "1vy", "either party", "the affected party", "the Subscriber", "the Partner"],
    "within": ["within 30 days", "within 72 hours", "without undue delay", "promptly",
               "within five business days", "no later than 14 days"],
    "exception": ["a longer period is required by law", "the data is subject to a legal hold",
                  "you ask us to delete it earlier", "it is needed to resolve a dispute",
                  "we have anonymised it"],
}
EXTERNAL_LINKS = [
    ("the European Data Protection Board", "https://www.edpb.europa.eu/"),
    ("the UK Information Commissioner's Office", "https://ico.org.uk/"),
    ("the Standard Contractual Clauses", "https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/standard-contractual-clauses-scc_en"),
    ("the California Privacy Protection Agency", "https://cppa.ca.gov/"),
    ("our status page", "https://status.example.com/"),
    ("the Digital Millennium Copyright Act", "https://www.copyright.gov/dmca/"),
    ("the OECD Privacy Guidelines", "https://www.oecd.org/sti/ieconomy/privacy-guidelines.htm"),
    ("your browser's help pages", "https://support.example.org/cookies"),
]
TEMPLATES = [
    "{Actor} {modal} {verb} {data} {purpose}.",
    "{Condition}, {actor} {modal} {verb} {data} and share it with {recipient}.",
    "We retain {data} for {period} after {event}, unless {exception}.",
    "We implement {measure}, {measure2} and {measure3} to protect {data} against {threat}.",
    "Where {law} applies, we process {data} only {basis}.",
    "{Party} shall notify the other party {within} after {event}.",
    "If {party} breaches this {doc}, 1vy may {remedy} {condition}.",
    "To the maximum extent permitted by {law}, neither party shall be liable for {damages}.",
    "You have the right to {right} and to {right2} {condition}.",
    "Any notice under this {doc} must be given in writing {notice_way}.",
    "{Recipient} are bound by {obligation} and may only process {data} on our documented instructions.",
    "For more information, see {doc_link}.",
    "As described in {section_link}, {actor} {modal} {verb} {data} {purpose}.",
    "Further guidance is published by {ext_link}.",
    "This {doc} is governed by the laws of {jurisdiction}, without regard to its conflict of laws principles.",
    "We do not sell {data}, and we do not use {data2} to train any models.",
    "Requests to exercise the right to {right} can be sent to {{{{ contact_email }}}}; we answer them {within}.",
    "{Actor} {modal} {verb} {data} {within} after {event}, {condition}.",
    "Nothing in this {doc} limits liability for fraud, gross negligence or wilful misconduct.",
    "Before we {verb} {data} for a new purpose, we will tell you {notice_way}.",
]
LIST_TEMPLATES = [
    "**{Data_cap}**, used {purpose}",
    "{Data_cap}, kept for {period}",
    "the right to {right}",
    "{Measure_cap}",
    "{Recipient_cap}, {condition}",
    "to {verb} {data} {purpose}",
    "{Damages_cap}",
]
TABLE_KINDS = [
    (["Category", "Examples", "Purpose", "Retention"],
     lambda g: [g.cap(g.pick("data")), g.pick("data"), g.pick("purpose").removeprefix("to ").capitalize(), g.pick("period")]),
    (["Subprocessor", "Service", "Location", "Safeguard"],
     lambda g: [g.company(), g.pick("recipient").capitalize(), g.pick("jurisdiction"), g.cap(g.pick("obligation"))]),
    (["Monthly uptime", "Service credit"],
     lambda g: [f"{g.rng.choice(['99.9', '99.5', '99.0', '98.0', '95.0'])}% or more", f"{g.rng.choice([5, 10, 15, 25, 50])}% of the monthly fee"]),
    (["Request", "Where to send it", "Response time"],
     lambda g: [f"Right to {g.pick('right')}", g.rng.choice(["Account settings", "{{ contact_email }}", "Support portal", "Postal address"]), g.pick("within").capitalize()]),
    (["Cookie", "Provider", "Duration", "Purpose"],
     lambda g: [g.rng.choice(["session", "csrf_token", "lang", "consent", "auth", "prefs", "lb_route"]) + f"_{g.rng.randint(1, 99)}", "1vy", g.pick("period"), g.pick("purpose").removeprefix("to ").capitalize()]),
]
COMPANY_A = ["North", "Blue", "Bright", "Clear", "Iron", "Silver", "Stone", "Swift", "Cedar", "Harbor", "Summit", "Vector"]
COMPANY_B = ["Cloud", "Pay", "Mail", "Data", "Desk", "Logic", "Ops", "Guard", "Works", "Stack", "Base", "Signal"]
COMPANY_C = ["Inc.", "Ltd", "GmbH", "B.V.", "LLC", "S.A.S."]
DEFINITIONS = {
    "Affiliate": "any entity that directly or indirectly controls, is controlled by or is under common control with a party",
    "Authorised User": "an individual whom the Customer permits to use the Services under the Customer's account",
    "Business Day": "any day other than a Saturday, Sunday or public holiday in {jurisdiction}",
    "Confidential Information": "all non-public information disclosed by one party to the other that is marked or reasonably understood as confidential",
    "Customer": "the entity that agrees to this {doc} and uses the Services",
    "Customer Content": "any data, text or files that the Customer or its Authorised Users submit to the Services",
    "Documentation": "the user guides and technical documentation for the Services that 1vy makes available",
    "Order Form": "an ordering document that specifies the Services purchased, the fees and the subscription term",
    "Personal Data": "any information relating to an identified or identifiable natural person, including {data}",
    "Security Incident": "a breach of security leading to {threat} of {data}",
    "Services": "the online services provided by 1vy as described in the Documentation",
    "Subprocessor": "any third party engaged by 1vy to process {data} {condition}",
    "Supervisory Authority": "an independent public authority established under {law}",
    "Usage Data": "information about how the Services are used, such as {data} and {data2}",
}
DOC_NOUNS = {"Policy": "Policy", "Agreement": "Agreement", "Addendum": "Addendum", "Statement": "Statement",
             "Overview": "Policy", "Schedule": "Schedule", "Guidelines": "Policy"}


def _slug(title: str) -> str:
    """The anchor our generator gives a heading (legalsite.markup.heading_slug, ASCII titles only)."""
    text = re.sub(r"[^\w\s-]", "", title).strip().lower()
    return re.sub(r"[-\s_]+", "-", text)


class Grammar:
    """Sentences, list items, table rows and definitions from one random stream."""

    def __init__(self, rng: random.Random, others: list[tuple[str, str]], doc: str = "Policy"):
        self.rng = rng
        self.doc = doc  # what the text calls itself: "this Policy", "this Agreement"
        self.others = others  # (slug, title) of the other policies, for links
        self.sections: list[str] = []  # titles of the document's sections, for anchor links

    def pick(self, key: str) -> str:
        return self.rng.choice(WORDS[key])

    @staticmethod
    def cap(text: str) -> str:
        return text[:1].upper() + text[1:]

    def company(self) -> str:
        r = self.rng
        return f"{r.choice(COMPANY_A)}{r.choice(COMPANY_B)} {r.choice(COMPANY_C)}"

    def _fill(self, template: str) -> str:
        def slot(match: re.Match) -> str:
            name = match.group(1)
            key = re.sub(r"\d$", "", name.removesuffix("_cap")).lower()
            if key == "doc":
                return self.doc
            if key == "doc_link":
                if not self.others:
                    return "this " + self.doc
                slug, title = self.rng.choice(self.others)
                return f"[our {title}](../../{slug}/)"
            if key == "section_link":
                title = self.rng.choice(self.sections) if self.sections else "Scope"
                return f"[{title}](#{_slug(title)})"
            if key == "ext_link":
                text, url = self.rng.choice(EXTERNAL_LINKS)
                return f"[{text}]({url})"
            value = self.pick(key)
            if name[0].isupper() or name.endswith("_cap"):
                value = self.cap(value)
            return value
        text = re.sub(r"(?<!\{)\{([A-Za-z_]+\d?)\}(?!\})", slot, template)
        return text.replace("{{{{", "{{").replace("}}}}", "}}")

    def sentence(self) -> str:
        return self._fill(self.rng.choice(TEMPLATES))

    def item(self) -> str:
        return self._fill(self.rng.choice(LIST_TEMPLATES))

    def paragraph(self) -> Block:
        return Block("p", [self.sentence() for _ in range(self.rng.randint(2, 6))])

    def block(self) -> Block:
        roll = self.rng.random()
        if roll < 0.62:
            return self.paragraph()
        if roll < 0.82:
            return Block("ul", [self.item() for _ in range(self.rng.randint(3, 7))])
        if roll < 0.88:
            return Block("ol", [self.sentence() for _ in range(self.rng.randint(3, 5))])
        kind = self.rng.randrange(len(TABLE_KINDS))
        header, row = TABLE_KINDS[kind]
        return Block("table", [row(self) for _ in range(self.rng.randint(3, 8))], header=list(header), table_kind=kind)

    def section(self, title: str) -> Section:
        r = self.rng
        if title == "Definitions":
            terms = r.sample(sorted(DEFINITIONS), r.randint(4, 8))
            blocks = [Block("p", [f"In this {self.doc}, the following terms have the meanings below."]),
                      Block("dl", [[t, self.definition(t)] for t in sorted(terms)])]
            return Section(title, blocks, [])
        blocks = [self.paragraph()] + [self.block() for _ in range(r.randint(0, 2))]
        subs = []
        for sub_title in r.sample(SUBSECTION_TITLES, r.choice([0, 0, 1, 2, 2, 3])):
            subs.append(Section(sub_title, [self.block() for _ in range(r.randint(1, 3))], []))
        return Section(title, blocks, subs)

    def definition(self, term: str) -> str:
        return self.cap(self._fill(DEFINITIONS[term])) + "."


@dataclass
class Block:
    kind: str  # p (sentences), ul, ol (items), table (rows), dl ([term, definition])
    items: list
    header: list = field(default_factory=list)
    table_kind: int = -1


@dataclass
class Section:
    title: str
    blocks: list[Block]
    subs: list["Section"]


# --- rendering ---------------------------------------------------------------

def _block_md(block: Block) -> str:
    if block.kind == "p":
        return " ".join(block.items)
    if block.kind == "ul":
        return "\n".join(f"- {item}" for item in block.items)
    if block.kind == "ol":
        return "\n".join(f"{n}. {item}" for n, item in enumerate(block.items, start=1))
    if block.kind == "dl":
        return "\n\n".join(f"{term}\n:   {definition}" for term, definition in block.items)
    lines = ["| " + " | ".join(block.header) + " |", "|" + "|".join(" --- " for _ in block.header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in block.items]
    return "\n".join(lines)


def render_body(sections: list[Section]) -> str:
    parts = []
    for n, section in enumerate(sections, start=1):
        parts.append(f"## {n}. {section.title}")
        parts += [_block_md(b) for b in section.blocks]
        for m, sub in enumerate(section.subs, start=1):
            parts.append(f"### {n}.{m} {sub.title}")
            parts += [_block_md(b) for b in sub.blocks]
    return "\n\n".join(parts) + "\n"


_MARKUP_TOKENS = frozenset({"|", "-", "--", "---", "#", "##", "###", ":", "*"})


def count_words(body: str) -> int:
    """Whitespace-separated tokens, less Markdown markup ('|', '-', '##', ...)."""
    tokens = body.split()
    return len(tokens) - sum(map(_MARKUP_TOKENS.__contains__, tokens))


# --- evolution ---------------------------------------------------------------

def _clone(section: Section) -> Section:
    """A deep copy (copy.deepcopy is ten times slower on these small lists)."""
    blocks = [Block(b.kind, [list(x) if isinstance(x, list) else x for x in b.items], list(b.header), b.table_kind)
              for b in section.blocks]
    return Section(section.title, blocks, [_clone(sub) for sub in section.subs])


class Evolver:
    """Applies a few realistic edits to a document and describes them for the summary."""

    def __init__(self, grammar: Grammar):
        self.g = grammar
        self.rng = grammar.rng

    def _all_blocks(self, sections: list[Section]) -> list[tuple[Section, Block]]:
        out = []
        for s in sections:
            out += [(s, b) for b in s.blocks]
            for sub in s.subs:
                out += [(s, b) for b in sub.blocks]
        return out

    def _pick(self, sections, kinds) -> tuple[Section, Block] | None:
        candidates = [(s, b) for s, b in self._all_blocks(sections) if b.kind in kinds]
        return self.rng.choice(candidates) if candidates else None

    def reword(self, sections) -> str | None:
        found = self._pick(sections, ("p", "ol"))
        if not found:
            return None
        section, block = found
        i = self.rng.randrange(len(block.items))
        old = block.items[i]
        # Half the time a small change (one term swapped), else a rewritten sentence.
        for key in self.rng.sample(["period", "modal", "within", "data", "recipient", "purpose", "measure"], 7):
            hits = [w for w in WORDS[key] if w in old]
            if hits and self.rng.random() < 0.5:
                new = old.replace(hits[0], self.g.pick(key), 1)
                if new != old:
                    block.items[i] = new
                    return f"clarified the wording of {section.title}"
        block.items[i] = self.g.sentence()
        return f"reworded part of {section.title}"

    def insert_sentence(self, sections) -> str | None:
        found = self._pick(sections, ("p",))
        if not found:
            return None
        section, block = found
        block.items.insert(self.rng.randint(0, len(block.items)), self.g.sentence())
        return f"added a sentence to {section.title}"

    def remove_sentence(self, sections) -> str | None:
        found = self._pick(sections, ("p",))
        if not found or len(found[1].items) < 2:
            return None
        section, block = found
        del block.items[self.rng.randrange(len(block.items))]
        return f"removed an outdated sentence from {section.title}"

    def edit_list(self, sections) -> str | None:
        found = self._pick(sections, ("ul", "ol"))
        if not found:
            return None
        section, block = found
        roll = self.rng.random()
        if roll < 0.45 or len(block.items) < 3:
            block.items.insert(self.rng.randint(0, len(block.items)), self.g.item() if block.kind == "ul" else self.g.sentence())
            return f"added an item to a list in {section.title}"
        if roll < 0.75:
            del block.items[self.rng.randrange(len(block.items))]
            return f"removed an item from a list in {section.title}"
        block.items[self.rng.randrange(len(block.items))] = self.g.item() if block.kind == "ul" else self.g.sentence()
        return f"changed an item of a list in {section.title}"

    def edit_table(self, sections) -> str | None:
        found = self._pick(sections, ("table",))
        if not found:
            return None
        section, block = found
        fresh = TABLE_KINDS[block.table_kind][1](self.g)
        if self.rng.random() < 0.3:
            block.items.insert(self.rng.randint(0, len(block.items)), fresh)
            return f"added a row to the table in {section.title}"
        row = self.rng.randrange(len(block.items))
        column = self.rng.randrange(len(block.header))
        block.items[row][column] = fresh[column]
        return f"updated the table in {section.title}"

    def insert_block(self, sections) -> str | None:
        section = self.rng.choice(sections)
        target = self.rng.choice([section] + section.subs)
        target.blocks.insert(self.rng.randint(1, len(target.blocks)), self.g.block())
        return f"expanded {section.title}"

    def insert_section(self, sections) -> str | None:
        used = {s.title for s in sections}
        unused = [t for t in SECTION_TITLES if t not in used]
        if not unused:
            return None
        title = self.rng.choice(unused)
        # Mid-document, so that every later section is renumbered; never after the last (Contact).
        position = self.rng.randint(1, max(1, len(sections) - 1))
        sections.insert(position, self.g.section(title))
        self.g.sections = [s.title for s in sections]
        return f"added a new section on {title}"

    def remove_section(self, sections) -> str | None:
        if len(sections) < 6:
            return None
        index = self.rng.randint(1, len(sections) - 2)  # keep the first and the last
        title = sections.pop(index).title
        self.g.sections = [s.title for s in sections]
        return f"removed the section on {title}, which no longer applies"

    def evolve(self, sections: list[Section]) -> tuple[list[Section], list[str]]:
        sections = [_clone(s) for s in sections]
        small = [(self.reword, 5), (self.insert_sentence, 2), (self.remove_sentence, 2), (self.edit_list, 2),
                 (self.edit_table, 1.5), (self.insert_block, 0.7)]
        changes = []
        roll = self.rng.random()  # first, so that the summary names it
        if roll < 0.12:
            changes.append(self.insert_section(sections))
        elif roll < 0.18:
            changes.append(self.remove_section(sections))
        wanted = self.rng.randint(2, 6)
        while sum(1 for c in changes if c) < wanted:
            edit = self.rng.choices([e for e, _ in small], [w for _, w in small])[0]
            changes.append(edit(sections))
        # Keep every version within the word range.
        while count_words(render_body(sections)) > MAX_WORDS - 150:
            changes.append(self.remove_section(sections) or self.remove_sentence(sections))
        while count_words(render_body(sections)) < MIN_WORDS + 150:
            changes.append(self.insert_section(sections) or self.insert_block(sections))
        return sections, [c for c in changes if c]


def _summary(changes: list[str]) -> str:
    seen = []
    for change in changes:
        if change not in seen:
            seen.append(change)
    seen = seen[:4]
    text = seen[0] if len(seen) == 1 else ", ".join(seen[:-1]) + " and " + seen[-1]
    return "We " + text + "."


# --- the corpus --------------------------------------------------------------

@dataclass(frozen=True)
class Corpus:
    root: Path
    content: Path
    settings: Path
    files: tuple[Path, ...]  # every version, policy by policy, oldest first
    words: tuple[int, ...]  # words of each file's body, same order
    digest: str  # SHA-256 over every file written, to compare runs

    def versions_of(self, policy: str) -> list[Path]:
        return [f for f in self.files if f.parent.name == policy]


def policy_kinds(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (slug, title) pairs; past the list, numbered variants."""
    out = []
    for i in range(count):
        slug, title = POLICY_KINDS[i % len(POLICY_KINDS)]
        if i >= len(POLICY_KINDS):
            n = i // len(POLICY_KINDS) + 1
            slug, title = f"{slug}-{n}", f"{title} {n}"
        out.append((slug, title))
    return out


def policy_versions(index: int, count: int, kinds: list[tuple[str, str]], seed: str = SEED):
    """Yield (effective date, front matter dict, body) for ``count`` versions of policy ``index``."""
    slug, title = kinds[index]
    rng = random.Random(f"{seed}:{slug}")
    # Links go to the first ten policies only, so that corpora of ten or more policies share their text.
    grammar = Grammar(rng, [k for k in kinds[:10] if k[0] != slug], DOC_NOUNS.get(title.split()[-1], "Agreement"))
    evolver = Evolver(grammar)
    target = rng.randint(1800, 4800)
    opening = [t for t in ("Scope", "Definitions") if rng.random() < 0.8] or ["Scope"]
    middle = [t for t in SECTION_TITLES if t not in ("Scope", "Definitions", "Changes to This Policy", "Notices")]
    rng.shuffle(middle)
    sections: list[Section] = []
    grammar.sections = opening + middle[:12] + ["Contact"]
    for t in opening:
        sections.append(grammar.section(t))
    for t in middle:
        if count_words(render_body(sections)) >= target - 400:
            break
        sections.append(grammar.section(t))
    contact = grammar.section("Contact")
    contact.blocks.insert(0, Block("p", ["If you have questions about this " + grammar.doc +
                                         ", contact us at {{ contact_email }}.", grammar.sentence()]))
    sections.append(contact)
    grammar.sections = [s.title for s in sections]
    day = FIRST_DAY + dt.timedelta(days=rng.randint(0, 90))
    for number in range(count):
        meta = {"title": title, "effective": day}
        if number:
            sections, changes = evolver.evolve(sections)
            meta["summary"] = _summary(changes)
        yield day, meta, render_body(sections)
        day += dt.timedelta(days=rng.randint(35, 60))


def _front_matter(meta: dict) -> str:
    lines = ["---", f"title: {json.dumps(meta['title'])}", f"effective: {meta['effective'].isoformat()}"]
    if "summary" in meta:
        lines.append(f"summary: {json.dumps(meta['summary'])}")
    return "\n".join(lines + ["---", ""]) + "\n"


SITE_TOML = f"""\
# Settings of the benchmark corpus (benchmarks/corpus.py).
[site]
name = "Bench"
base_url = "{BASE_URL}"
language = "en"
contact_email = "{CONTACT_EMAIL}"
notice_days = 30
# No page per pair of versions: the peers build none, and at 50 versions a policy would get
# 1,176 of them (benchmarks/compare_cost.py measures what they cost).
compare_any_two = false
"""


def write_corpus(root: Path | str, policies: int, versions: int, seed: str = SEED) -> Corpus:
    """Write ``root/content/<policy>/<date>.md``, ``root/site.toml`` and ``root/versions.lock``;
    replaces an older corpus there."""
    root = Path(root)
    content = root / "content"
    kinds = policy_kinds(policies)
    wanted: dict[Path, bytes] = {}
    words = []
    for index in range(policies):
        for day, meta, body in policy_versions(index, versions, kinds, seed):
            if day >= AS_OF:
                raise ValueError(f"{versions} versions run past the benchmark's build day {AS_OF}")
            n = count_words(body)
            if not MIN_WORDS <= n <= MAX_WORDS:
                raise AssertionError(f"{kinds[index][0]}/{day}: {n} words, outside {MIN_WORDS}-{MAX_WORDS}")
            words.append(n)
            wanted[content / kinds[index][0] / f"{day.isoformat()}.md"] = (_front_matter(meta) + body).encode("utf-8")
    settings = root / "site.toml"
    wanted[settings] = SITE_TOML.encode("utf-8")
    wanted[root / "versions.lock"] = lock_text(content, wanted)
    # Remove files of another corpus; rewrite only what differs (keeps mtimes of unchanged files).
    if content.exists():
        for path in sorted(content.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    digest = hashlib.sha256()
    for path, data in wanted.items():
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + data)
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    files = tuple(p for p in wanted if p.suffix == ".md")
    return Corpus(root=root, content=content, settings=settings, files=files, words=tuple(words),
                  digest=digest.hexdigest())


NOTICE_DAYS = 30  # site.toml's notice_days


def lock_text(content: Path, files: dict[Path, bytes]) -> bytes:
    """``versions.lock`` of the corpus: every version published (locked) ``NOTICE_DAYS``
    before it took effect, as the notice rule asks (lock.py), so the corpus builds."""
    versions = {}
    for path, data in files.items():
        if path.suffix == ".md" and path.parent.parent == content:
            day = dt.date.fromisoformat(path.stem)
            versions[f"{path.parent.name}/{path.stem}"] = {
                "published": (day - dt.timedelta(days=NOTICE_DAYS)).isoformat(),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
    data = {"format": 2, "versions": dict(sorted(versions.items()))}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def relock(path: Path, data: bytes | None = None) -> None:
    """After an edit of the corpus's version ``path``: its lock entry records the edited
    text, as if that were the text first published (a benchmark's edit stands for legal's
    edit of a version; a real edit of a published text fails the build: lock.py). A deleted
    ``path`` leaves the lock. ``data``: the text about to be written (before writing it, so
    that a watching preview sees both files change in one burst)."""
    lock = path.parent.parent.parent / "versions.lock"
    text = data if data is not None else path.read_bytes() if path.exists() else None
    data = json.loads(lock.read_text(encoding="utf-8"))
    key = f"{path.parent.name}/{path.stem}"
    if text is not None:
        data["versions"][key]["sha256"] = hashlib.sha256(text).hexdigest()
    else:  # deleted: as if never published
        del data["versions"][key]
    lock.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def edit_one_sentence(path: Path, n: int) -> tuple[str, str]:
    """Replace one sentence in the middle of a version's text; ``n`` makes each edit different.

    Returns (old sentence, new sentence). The front matter is left alone, so
    the file stays valid.
    """
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    lines = body.split("\n")
    prose = [i for i, line in enumerate(lines)
             if line and line[0].isalpha() and ". " in line and "{{" not in line and "](" not in line]
    i = prose[len(prose) // 2]
    old = lines[i].split(". ")[0] + "."
    grammar = Grammar(random.Random(f"edit:{path.name}:{n}"), [])
    new = grammar.sentence()
    while new == old or "{{" in new or "](" in new:
        new = grammar.sentence()
    lines[i] = new + lines[i][len(old):]
    path.write_text(head + sep + "\n".join(lines), encoding="utf-8")
    if (path.parent.parent.parent / "versions.lock").exists():  # a peer's copy has no lock
        relock(path)
    return old, new


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the benchmark corpus.")
    parser.add_argument("out", type=Path, help="folder to write content/ and site.toml into")
    parser.add_argument("--policies", type=int, default=10)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--seed", default=SEED)
    args = parser.parse_args()
    corpus = write_corpus(args.out, args.policies, args.versions, args.seed)
    words = sorted(corpus.words)
    print(f"{len(corpus.files)} versions in {corpus.content}: words min {words[0]}, median {words[len(words) // 2]}, "
          f"max {words[-1]}; sha256 {corpus.digest[:16]}")


if __name__ == "__main__":
    main()
