"""Redaction: personal data out of a text before it leaves the machine, and back after.

`redact(text)` replaces emails, phone numbers, payment card numbers, @handles and URLs
with placeholders such as `[EMAIL_1]`, `[PHONE_1]`, `[CARD_1]`, `[HANDLE_1]`, `[URL_1]`.
The same value gets the same placeholder everywhere in the text, so a model still sees
that two mentions are one person. The `Redaction` it returns maps back: offsets in the
redacted text to offsets in the original (`to_original`), and quotes to their original
wording (`restore`), so evidence found in the redacted text points into the original.

    r = redact("Mail me at ann@example.com or call +44 20 7946 0958.")
    r.text        # 'Mail me at [EMAIL_1] or call [PHONE_1].'
    r.restore("call [PHONE_1]")                      # 'call +44 20 7946 0958'
    r.to_original(8, 20)                             # (8, 26): 'at ann@example.com'

What is recognised (deliberately conservative, so ordinary words and numbers survive):

* URLs starting with `http://`, `https://` or `www.` (bare domains such as
  "amazon.com" are kept: they are often the point of a review);
* emails (`name@domain.tld`);
* payment card numbers: 13 to 19 digits, optionally grouped with spaces or dashes, that
  pass the Luhn check;
* phone numbers in international form (`+` country code, 8 to 15 digits with spaces,
  dots, dashes or brackets) and US forms (`(555) 123-4567`, `555-123-4567`,
  `555.123.4567`, `1-800-555-0199`);
* @handles (`@name`, not the `@` inside an email).

A placeholder never collides with text already in the original: if the original
contains a literal `[EMAIL_1]`, the first email becomes `[EMAIL_2]`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

__all__ = ["KINDS", "Redaction", "Replacement", "luhn_ok", "redact"]

# Kinds in priority order: when two matches overlap, the earlier kind wins.
KINDS = ("URL", "EMAIL", "CARD", "PHONE", "HANDLE")

_URL = re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
_CARD = re.compile(r"(?<![\d-])(?=(\d(?:[ -]?\d){12,18}))")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\d])")
_PHONE_US = re.compile(
    r"(?<![\w+(])(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d])"
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")
_PLACEHOLDER = re.compile(r"\[(?:URL|EMAIL|CARD|PHONE|HANDLE)_\d+\]")
_URL_TRAIL = ".,;:!?'\"”’)]}>"


def luhn_ok(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_like(s: str) -> bool:
    """13-19 digits passing Luhn; grouped with one kind of separator, first group of 4."""
    groups = re.split(r"[ -]", s)
    if len(groups) > 1 and (len(groups[0]) != 4 or len(set(re.findall(r"[ -]", s))) > 1):
        return False
    digits = "".join(groups)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _trim_url(s: str) -> str:
    while s and s[-1] in _URL_TRAIL:
        if s[-1] == ")" and s.count("(") >= s.count(")"):
            break  # a balanced bracket belongs to the URL (e.g. wikipedia links)
        s = s[:-1]
    return s


def _matches(text: str) -> list[tuple[int, int, str]]:
    """Every candidate (start, end, kind), validated, in priority order of kind."""
    found: list[tuple[int, int, str]] = []
    for m in _URL.finditer(text):
        value = _trim_url(m.group())
        if len(value) > len("www.") and not value.lower().endswith(("://", "www.")):
            found.append((m.start(), m.start() + len(value), "URL"))
    found += [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    for m in _CARD.finditer(text):  # overlapping: every start, longest valid end
        run = m.group(1)
        ends = [
            i + 1
            for i, ch in enumerate(run)
            if ch.isdigit() and not text[m.start() + i + 1 : m.start() + i + 2].isdigit()
        ]
        for end in reversed(ends):
            if _card_like(run[:end]):
                found.append((m.start(), m.start() + end, "CARD"))
                break
    for m in _PHONE_INTL.finditer(text):
        value = m.group()
        if value.count("(") != value.count(")"):
            continue
        if 8 <= sum(c.isdigit() for c in value) <= 15:
            found.append((m.start(), m.end(), "PHONE"))
    found += [(m.start(), m.end(), "PHONE") for m in _PHONE_US.finditer(text)]
    found += [(m.start(), m.end(), "HANDLE") for m in _HANDLE.finditer(text)]
    return found


def _select(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping matches: higher-priority kind first, then the longer one."""
    found.sort(key=lambda m: (KINDS.index(m[2]), -(m[1] - m[0]), m[0]))
    chosen: list[tuple[int, int, str]] = []
    for s, e, kind in found:
        if all(e <= cs or s >= ce for cs, ce, _ in chosen):
            chosen.append((s, e, kind))
    chosen.sort()
    return chosen


@dataclass(frozen=True)
class Replacement:
    """One redacted value: where it was in the original and where its placeholder is."""

    kind: str
    placeholder: str
    value: str
    start: int  # in the original
    end: int
    red_start: int  # in the redacted text
    red_end: int


@dataclass
class Redaction:
    """A redacted text and the way back to the original."""

    original: str
    text: str
    replacements: list[Replacement] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._red_starts = [r.red_start for r in self.replacements]
        self.mapping: dict[str, str] = {r.placeholder: r.value for r in self.replacements}

    @property
    def changed(self) -> bool:
        return bool(self.replacements)

    def counts(self) -> dict[str, int]:
        """How many distinct values of each kind were redacted (no values: safe to log)."""
        out: dict[str, int] = {}
        for ph in self.mapping:
            kind = ph[1:].split("_", 1)[0]
            out[kind] = out.get(kind, 0) + 1
        return out

    def _map(self, pos: int, is_end: bool) -> int:
        if not 0 <= pos <= len(self.text):
            raise ValueError(f"offset {pos} outside the redacted text (0..{len(self.text)})")
        i = bisect.bisect_right(self._red_starts, pos) - 1
        if i < 0:
            return pos
        r = self.replacements[i]
        if pos == r.red_start:
            return r.start
        if pos < r.red_end:  # inside a placeholder: widen to cover the whole value
            return r.end if is_end else r.start
        return r.end + (pos - r.red_end)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map [start, end) in the redacted text to the original text.

        A span that covers a placeholder, wholly or in part, maps to cover the whole
        original value, so `original[s:e]` never shows half an email.
        """
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        s, e = self._map(start, is_end=False), self._map(end, is_end=True)
        return s, max(s, e)

    def restore(self, s: str) -> str:
        """Replace every placeholder of this redaction in `s` by its original value."""
        if not self.mapping:
            return s
        return _PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(), m.group()), s)


def redact(text: str) -> Redaction:
    """Replace emails, phones, card numbers, @handles and URLs by numbered placeholders."""
    chosen = _select(_matches(text))
    if not chosen:
        return Redaction(original=text, text=text)
    taken = set(_PLACEHOLDER.findall(text))  # literal placeholders already in the text
    next_n = dict.fromkeys(KINDS, 1)
    by_value: dict[tuple[str, str], str] = {}
    parts: list[str] = []
    reps: list[Replacement] = []
    pos = red_pos = 0
    for s, e, kind in chosen:
        value = text[s:e]
        ph = by_value.get((kind, value))
        if ph is None:
            while (ph := f"[{kind}_{next_n[kind]}]") in taken:
                next_n[kind] += 1
            next_n[kind] += 1
            by_value[(kind, value)] = ph
        parts.append(text[pos:s])
        red_pos += s - pos
        reps.append(Replacement(kind, ph, value, s, e, red_pos, red_pos + len(ph)))
        parts.append(ph)
        red_pos += len(ph)
        pos = e
    parts.append(text[pos:])
    return Redaction(original=text, text="".join(parts), replacements=reps)
