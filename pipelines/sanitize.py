"""Text that every reader can take: no lone surrogates, no control characters.

Pages put odd code points into places that become record fields: a JSON-LD string with a
lone ``\\ud800`` escape (``json.loads`` accepts it; UTF-8 cannot encode it), a stray NUL or
ESC in a meta tag. Both are cleaned where extraction hands its result on
(``pipelines.extract.pipeline.to_article``) and again when the record is built
(``pipelines.record.build_record``), so a record can always be encoded and written.
"""

from __future__ import annotations

import re
from typing import Any

# Lone surrogates (never valid in UTF-8) and C0 controls other than tab, line feed and carriage
# return, plus DEL: JSON can escape them, but downstream tools choke on them.
_ODD = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _replacement(match: re.Match[str]) -> str:
    # A surrogate stood for a character that is lost: mark the spot. A control character was never text.
    return "\ufffd" if match.group() >= "\ud800" else ""


def clean_text(text: str) -> str:
    """Return ``text`` with lone surrogates replaced by U+FFFD and control characters removed."""
    return _ODD.sub(_replacement, text) if _ODD.search(text) else text


def clean_value(value: Any) -> Any:
    """Clean every string in a JSON-like value (str, list, tuple, dict keys and values)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    return value
