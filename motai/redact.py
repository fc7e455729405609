"""Redaction: personal data out of a text before it leaves the machine, and back after.

`redact(text)` replaces emails, phone numbers, payment card numbers, IBANs, street
addresses, @handles and URLs with placeholders such as `[EMAIL_1]`, `[PHONE_1]`,
`[CARD_1]`, `[IBAN_1]`, `[ADDRESS_1]`, `[HANDLE_1]`, `[URL_1]`.
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
* IBANs (two letters, two check digits, up to 30 letters and digits, optionally in
  groups of four) that pass the ISO 13616 mod-97 check;
* phone numbers in national forms (`020 7946 0958`, `030 12345678`, `01 23 45 67 89`,
  `(02) 9876 5432`, ...) through Google's libphonenumber rules (the `phonenumbers`
  package, in the `llm` extra; without it only the forms above are found), a number
  kept only when valid for one of `PHONE_REGIONS`. On `evals/pii.jsonl` it lifts phone
  recall from 0.65 to 1.00 (`python benchmarks/pii.py`);
* street addresses where a pattern is reliable: a house number and capitalised street
  name with a suffix (`221B Baker Street`, `10 Downing St`), German `Hauptstraße 5`,
  French `12 rue de la Paix`;
* @handles (`@name`, not the `@` inside an email).

A placeholder never collides with text already in the original: if the original
contains a literal `[EMAIL_1]`, the first email becomes `[EMAIL_2]`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

__all__ = ["KINDS", "PHONE_REGIONS", "Redaction", "Replacement", "iban_ok", "luhn_ok", "redact"]

# Kinds in priority order: when two matches overlap, the earlier kind wins (an IBAN's
# digits can pass Luhn, so IBAN comes before CARD).
KINDS = ("URL", "EMAIL", "IBAN", "CARD", "PHONE", "ADDRESS", "HANDLE")
# Regions whose national phone formats are recognised (phonenumbers' region codes).
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "AU", "IN")

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
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])")
_STREET_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Way|Boulevard|Blvd|Close|Court|Ct"
    r"|Place|Pl|Terrace|Crescent|Square|Sq|Gardens|Grove|Row|Parkway|Pkwy|Highway|Hwy)"
)
_ADDRESS = re.compile(
    r"(?<![\w.,/-])\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}" + _STREET_SUFFIX + r"\b\.?"
    r"(?:\s+(?:NW|NE|SW|SE)\b)?"
    r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|gasse|platz|allee|damm)\s+\d{1,4}[a-z]?\b"
    r"|(?<![\w.,/-])\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|avenue|boulevard|place|chemin|allée|quai)"
    r" (?:(?:de|du|des|la|le) |l'|d')*[A-ZÉ][\w'-]+"
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")
_PLACEHOLDER = re.compile(r"\[(?:URL|EMAIL|IBAN|CARD|PHONE|ADDRESS|HANDLE)_\d+\]")
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


def iban_ok(value: str) -> bool:
    """True when a string (spaces allowed) is an IBAN passing the ISO 13616 mod-97 check."""
    s = value.replace(" ", "")
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def _ibans(text: str) -> list[tuple[int, int, str]]:
    """IBANs, a trailing group dropped until the check passes (the next word may fit)."""
    found = []
    for m in _IBAN.finditer(text):
        value = m.group()
        while value and not iban_ok(value):
            cut = value.rfind(" ")
            value = value[:cut] if cut > 4 else ""
        if value:
            found.append((m.start(), m.start() + len(value), "IBAN"))
    return found


def _national_phones(text: str) -> list[tuple[int, int, str]]:
    """Phone numbers valid in one of PHONE_REGIONS (phonenumbers), if it is installed.

    Imported lazily: it is in the `llm` extra, as redaction is for the LLM path.
    """
    try:
        import phonenumbers
    except ImportError:
        return []
    if not any(c.isdigit() for c in text):
        return []
    found = []
    for region in PHONE_REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        found += [(m.start, m.end, "PHONE") for m in matcher]
    return found


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


def _matches(text: str, national_phones: bool = True) -> list[tuple[int, int, str]]:
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
    if national_phones:
        found += _national_phones(text)
    found += _ibans(text)
    found += [(m.start(), m.end(), "ADDRESS") for m in _ADDRESS.finditer(text)]
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


def redact(text: str, *, national_phones: bool = True) -> Redaction:
    """Replace emails, phones, cards, IBANs, addresses, @handles and URLs by placeholders.

    `national_phones=False` keeps to the regular expressions (no phonenumbers), for
    measuring what the library adds.
    """
    chosen = _select(_matches(text, national_phones))
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
