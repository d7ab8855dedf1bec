"""Inbound words that opt a channel out: STOP, QUIT, END, REVOKE, OPT OUT, CANCEL,
UNSUBSCRIBE, 退订, TD, in any case, with surrounding text allowed."""

from __future__ import annotations

import re

_LATIN = re.compile(
    r"(?<![A-Za-z])(STOP|QUIT|END|REVOKE|OPT[\s_-]*OUT|CANCEL|UNSUBSCRIBE|TD)(?![A-Za-z])",
    re.IGNORECASE,
)


def is_opt_out(text: str) -> bool:
    return "退订" in text or _LATIN.search(text) is not None
