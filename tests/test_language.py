"""`detect_language`: plain English answers at once; other languages are named."""

from __future__ import annotations

import pytest

import motai.language as language
from motai.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "Love it!",
        "@AmazonHelp my order still says processing",
        "i need to check my balance please",
        "the noise cancelling is unreal #happycustomer",
    ],
)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Le colis n'est jamais arrivé, je suis très déçu.", "fr"),
        ("Das Paket kam zwei Wochen zu spät. Sehr ärgerlich!", "de"),
        ("Estoy muy contento con el servicio", "es"),
        ("荷物が届きません。どうなっていますか？", "ja"),
    ],
)
def test_other_languages(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_no_words_is_none() -> None:
    assert detect_language("!!! 123 :)") is None


def test_plain_english_never_loads_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom():
        raise AssertionError("langid loaded for plain English")

    monkeypatch.setattr(language, "_langid", boom)
    assert detect_language("The parcel arrived two weeks late and nobody answered.") == "en"
