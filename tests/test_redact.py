"""Redaction: what is caught, what is left alone, and the way back to the original."""

from __future__ import annotations

import random

import pytest

from motai.redact import Redaction, luhn_ok, redact

SAMPLE = (
    "Hi, I'm Ann (ann.lee+shop@example.co.uk). My card 4111 1111 1111 1111 was charged "
    "twice, call me on +44 20 7946 0958 or (555) 123-4567. @AcmeHelp never answered, "
    "see https://example.com/orders/123?ref=x. Ann again: ann.lee+shop@example.co.uk"
)


# --- what is caught ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("mail ann@example.com today", "EMAIL", "ann@example.com"),
        ("mail ANN.Lee+x@mail.example.org.", "EMAIL", "ANN.Lee+x@mail.example.org"),
        ("call +44 20 7946 0958 now", "PHONE", "+44 20 7946 0958"),
        ("call +1 (555) 123-4567 now", "PHONE", "+1 (555) 123-4567"),
        ("call +33612345678.", "PHONE", "+33612345678"),
        ("call +49-30-1234567 pls", "PHONE", "+49-30-1234567"),
        ("call (555) 123-4567 pls", "PHONE", "(555) 123-4567"),
        ("call 555-123-4567 pls", "PHONE", "555-123-4567"),
        ("call 555.123.4567 pls", "PHONE", "555.123.4567"),
        ("call 1-800-555-0199 pls", "PHONE", "1-800-555-0199"),
        ("card 4111111111111111 ok", "CARD", "4111111111111111"),
        ("card 4111 1111 1111 1111 ok", "CARD", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004 ok", "CARD", "5500-0000-0000-0004"),
        ("amex 3782 822463 10005 ok", "CARD", "3782 822463 10005"),
        ("thanks @acme_support!", "HANDLE", "@acme_support"),
        ("cc @jane.doe.", "HANDLE", "@jane.doe"),
        ("see https://example.com/a?b=1&c=2.", "URL", "https://example.com/a?b=1&c=2"),
        ("see (http://example.com/x)", "URL", "http://example.com/x"),
        ("see www.example.com/p/1, thanks", "URL", "www.example.com/p/1"),
        ("wiki https://en.wikipedia.org/wiki/Foo_(bar) ok", "URL", None),
    ],
)
def test_catches(text: str, kind: str, value: str | None) -> None:
    r = redact(text)
    got = {v: ph for ph, v in r.mapping.items()}
    if value is None:
        value = "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert value in got, (r.text, r.mapping)
    assert got[value] == f"[{kind}_1]"
    assert value not in r.text
    assert r.restore(r.text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Arrived two weeks late. Love the fabric though!",
        "Ordered on 2024-01-15, order #12345678, size 10.5, $49.99",
        "Bought it on amazon.com after reading reviews",
        "4111 1111 1111 1112 fails the Luhn check",
        "call 555-1234 (seven digits is not enough)",
        "email me at ann at example dot com",
        "rated it 5/5 @ 3pm",
        "+12 is not a phone",
        "ISBN 978-3-16-148410-0",
        "call 555-123-456 (too short)",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    r = redact(text)
    assert r.text == text
    assert not r.changed
    assert r.replacements == []


def test_email_is_not_a_handle() -> None:
    r = redact("write to support@acme.com or @acme")
    assert r.text == "write to [EMAIL_1] or [HANDLE_1]"
    assert r.mapping == {"[EMAIL_1]": "support@acme.com", "[HANDLE_1]": "@acme"}


def test_url_wins_over_what_it_contains() -> None:
    r = redact("see https://x.com/@brand?mail=a@b.com")
    assert r.text == "see [URL_1]"


def test_same_value_same_placeholder() -> None:
    r = redact(SAMPLE)
    assert r.text.count("[EMAIL_1]") == 2
    assert "[EMAIL_2]" not in r.text
    assert r.counts() == {"EMAIL": 1, "CARD": 1, "PHONE": 2, "HANDLE": 1, "URL": 1}
    r2 = redact("a@b.co then c@d.co then a@b.co")
    assert r2.text == "[EMAIL_1] then [EMAIL_2] then [EMAIL_1]"


def test_sample_has_no_pii_left() -> None:
    r = redact(SAMPLE)
    for raw in (
        "ann.lee+shop@example.co.uk",
        "4111 1111 1111 1111",
        "+44 20 7946 0958",
        "(555) 123-4567",
        "@AcmeHelp",
        "https://example.com",
        "7946",
        "1111",
    ):
        assert raw not in r.text
    assert r.restore(r.text) == SAMPLE


def test_placeholders_never_collide_with_literal_text() -> None:
    text = "the template said [EMAIL_1]; mine is bob@x.io"
    r = redact(text)
    assert r.text == "the template said [EMAIL_1]; mine is [EMAIL_2]"
    assert r.restore(r.text) == text
    assert r.restore("[EMAIL_1]") == "[EMAIL_1]"


def test_restore_leaves_unknown_placeholders() -> None:
    r = redact("mail a@b.co")
    assert r.restore("[EMAIL_1] and [PHONE_9] and [EMAIL_1]") == "a@b.co and [PHONE_9] and a@b.co"
    assert redact("nothing here").restore("[EMAIL_1]") == "[EMAIL_1]"


# --- offsets back to the original ----------------------------------------------------


def test_to_original_examples() -> None:
    text = "Mail me at ann@example.com or call +44 20 7946 0958."
    r = redact(text)
    assert r.text == "Mail me at [EMAIL_1] or call [PHONE_1]."
    assert r.to_original(0, 4) == (0, 4)
    s, e = r.to_original(8, 20)
    assert text[s:e] == "at ann@example.com"
    # A span cutting into a placeholder widens to the whole value.
    s, e = r.to_original(12, 14)
    assert text[s:e] == "ann@example.com"
    s, e = r.to_original(r.text.index(" or"), len(r.text))
    assert text[s:e] == " or call +44 20 7946 0958."
    assert r.to_original(len(r.text), len(r.text)) == (len(text), len(text))


def test_to_original_rejects_bad_offsets() -> None:
    r = redact("mail a@b.co")
    with pytest.raises(ValueError):
        r.to_original(0, len(r.text) + 1)
    with pytest.raises(ValueError):
        r.to_original(3, 2)


def test_evidence_found_in_redacted_text_maps_to_original() -> None:
    """What an LLM classifier does: find the quote in the redacted text, map it back."""
    text = "Support (help@acme.com) never replied to my three emails. Refund me!"
    r = redact(text)
    quote = "Support ([EMAIL_1]) never replied"
    start = r.text.index(quote)
    s, e = r.to_original(start, start + len(quote))
    assert text[s:e] == "Support (help@acme.com) never replied"
    assert r.restore(quote) == text[s:e]


def _cuts_placeholder(r: Redaction, pos: int) -> bool:
    return any(x.red_start < pos < x.red_end for x in r.replacements)


def _widen(r: Redaction, a: int, b: int) -> tuple[int, int]:
    for x in r.replacements:
        if x.red_start < a < x.red_end:
            a = x.red_start
        if x.red_start < b < x.red_end:
            b = x.red_end
    return a, b


_PIECES = [
    "love it",
    " ",
    ", ",
    ". ",
    "ann@example.com",
    "bob.smith@mail.co",
    "+44 20 7946 0958",
    "(555) 123-4567",
    "4111 1111 1111 1111",
    "5500000000000004",
    "@acme",
    "@jane_doe",
    "https://acme.com/x?y=1",
    "www.shop.io/p",
    "late delivery",
    "[EMAIL_1]",
    "é→😀",
    "\n",
]


@pytest.mark.parametrize("seed", range(40))
def test_round_trip_property(seed: int) -> None:
    """For any span not cutting a placeholder: original[to_original(span)] == restore(span)."""
    rng = random.Random(seed)
    words = [rng.choice(_PIECES) for _ in range(rng.randint(1, 25))]
    text = " ".join(words)
    r = redact(text)
    assert r.restore(r.text) == text
    assert r.to_original(0, len(r.text)) == (0, len(text))
    for _ in range(60):
        a, b = sorted(rng.randint(0, len(r.text)) for _ in range(2))
        s, e = r.to_original(a, b)
        assert 0 <= s <= e <= len(text)
        if not (_cuts_placeholder(r, a) or _cuts_placeholder(r, b)):
            assert text[s:e] == r.restore(r.text[a:b])
        elif a < b:  # widened to whole placeholders: the same as the widened span
            wa, wb = _widen(r, a, b)
            assert text[s:e] == r.restore(r.text[wa:wb])


@pytest.mark.parametrize("seed", range(10))
def test_no_raw_value_survives(seed: int) -> None:
    rng = random.Random(1000 + seed)
    pii = ["ann@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "@acme_help"]
    words = [rng.choice([*pii, "great", "terrible service", "arrived late"]) for _ in range(15)]
    r = redact(" and ".join(words))
    for raw in pii:
        assert raw not in r.text


def test_card_after_other_digits() -> None:
    """A card right after another number is still found (overlapping candidates)."""
    r = redact("ref=1 5500000000000004 and 7 4111 1111 1111 1111")
    assert r.text == "ref=1 [CARD_1] and 7 [CARD_2]"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("41111a1111111111")
    assert not luhn_ok("")


def test_empty_and_unicode() -> None:
    assert redact("").text == ""
    r = redact("😀 écrivez à zoé@exemple.fr")
    assert r.restore(r.text) == "😀 écrivez à zoé@exemple.fr"
