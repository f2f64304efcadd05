"""Language codes: ISO 639-1 from HTML lang tags, og:locale values, headers and langdetect names."""

from __future__ import annotations

import re
from collections.abc import Sequence

_CODE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")
_ISO639_2 = {"eng": "en", "deu": "de", "ger": "de", "nld": "nl", "dut": "nl", "fra": "fr", "fre": "fr",
             "spa": "es", "por": "pt", "ita": "it", "rus": "ru", "jpn": "ja", "zho": "zh", "chi": "zh",
             "kor": "ko", "pol": "pl", "swe": "sv", "tur": "tr", "ind": "id", "ara": "ar"}


def normalize_code(code: str | None) -> str | None:
    """ISO 639-1 code of a language tag ("nl-NL", "pt_BR", "zh-cn", "deu"), or None."""
    match = _CODE.match(code or "")
    if not match:
        return None
    base = match.group(1).lower()
    return base if len(base) == 2 else _ISO639_2.get(base)


def parse_declared(values: Sequence[str | None]) -> tuple[str, ...]:
    """Normalised, de-duplicated codes from tags and headers ("nl-NL, en;q=0.5" gives nl, en)."""
    codes: list[str] = []
    for value in values:
        for part in (value or "").split(","):
            code = normalize_code(part.split(";")[0])
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)
