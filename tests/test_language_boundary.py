"""The mixed-language flag at its exact boundary: a language holding ``mixed_share`` of the segments counts."""

from __future__ import annotations

from pathlib import Path

from pipelines.language.detect import MIXED_SHARE, body_shares, detect_languages

ENGLISH = (Path(__file__).parent / "fixtures" / "rewrites" / "original.txt").read_text(encoding="utf-8").split("\n\n")
GERMAN = ("Der Autohersteller will das neue Elektromodell ab der zweiten Jahreshälfte im belgischen Werk bauen, "
          "nachdem die Europäische Union zusätzliche Zölle auf in China gefertigte Fahrzeuge erhoben hat. "
          "Die Gewerkschaften begrüßten die Entscheidung, forderten aber Garantien für die Arbeitsplätze.")


def body(english_paragraphs: int) -> str:
    """``english_paragraphs`` English paragraphs of one story, then one German paragraph."""
    assert english_paragraphs <= len(ENGLISH)
    return "\n\n".join([*ENGLISH[:english_paragraphs], GERMAN])


def test_one_german_paragraph_in_ten_is_exactly_the_default_share_and_flags_mixed() -> None:
    assert MIXED_SHARE == 0.10
    shares = body_shares(body(9))
    assert shares == {"en": 0.9, "de": 0.1}
    assert detect_languages(body(9)).flags == ["mixed_language"]


def test_one_german_paragraph_in_eleven_is_below_the_share_and_not_mixed() -> None:
    shares = body_shares(body(10))
    assert shares["de"] < MIXED_SHARE
    assert detect_languages(body(10)).flags == []
