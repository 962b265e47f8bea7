"""Horizontal bars for the terminal, drawn with Unicode eighth blocks (ASCII when the output cannot show them)."""

from __future__ import annotations

import codecs

_EIGHTHS = "▏▎▍▌▋▊▉"  # 1/8 .. 7/8 of a cell
_FULL = "█"

#: Narrowest bar column worth drawing; below that the bars say nothing.
MIN_WIDTH = 8


def unicode_ok(encoding: str | None) -> bool:
    """True when text in `encoding` can carry the block characters."""
    if not encoding:
        return False
    try:
        codecs.lookup(encoding)
        (_FULL + _EIGHTHS).encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def bar(value: float, maximum: float, width: int, *, ascii_only: bool = False) -> str:
    """A bar `value / maximum` of `width` cells long, to 1/8 of a cell (1 cell in ASCII).

    Any positive value gets at least the thinnest mark, so a small total
    never looks like nothing; zero (or a non-positive maximum) is empty.
    """
    if value <= 0 or maximum <= 0 or width <= 0:
        return ""
    fraction = min(1.0, value / maximum)
    if ascii_only:
        return "#" * max(1, round(fraction * width))
    eighths = max(1, round(fraction * width * 8))
    full, rest = divmod(eighths, 8)
    return _FULL * full + (_EIGHTHS[rest - 1] if rest else "")
