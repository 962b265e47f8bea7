"""Decode a JSON array element by element while it downloads.

`GET /me/time_entries` for a cold sync answers with one array of every entry
in 89 days: 100,000 entries are about 44 MB of JSON, and `json.loads` first
turns it into one Python string (four bytes per character as soon as one
emoji appears) and then into all records at once: about 300 MB. Reading the
body in chunks and handing out one record at a time keeps memory at the size
of a batch, whatever the size of the answer. The standard library's
`JSONDecoder.raw_decode` does the parsing; this module only finds where each
element starts.
"""

from __future__ import annotations

import codecs
import itertools
import json
from collections.abc import Container, Iterable, Iterator
from typing import Any

_WHITESPACE = " \t\n\r"


class JSONStreamError(ValueError):
    """The body is not one well-formed JSON array."""


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _value_at(decoder: json.JSONDecoder, buf: str, pos: int, at_end: bool) -> tuple[Any, int] | None:
    """The JSON value that starts at `buf[pos]` and where it ends; None while `buf` does not
    hold all of it yet (more chunks to come)."""
    try:
        value, end = decoder.raw_decode(buf, pos)
    except json.JSONDecodeError as exc:
        if at_end:
            raise JSONStreamError(f"malformed or truncated JSON: {exc.msg}") from None
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # raw_decode stops a number where it stops being valid ("0." -> 0):
        # a number must end the buffer's data before it counts.
        if end >= len(buf) or buf[end] in "0123456789.eE+-":
            if not at_end:
                return None
            if end < len(buf):
                raise JSONStreamError(f"malformed number at {buf[pos:end + 5]!r}")
    return value, end


def iter_json_object(chunks: Iterable[bytes], *, drop: Container[str] = ()) -> Iterator[tuple[str, Any]]:
    """Yield the members (key, value) of the JSON object spread over `chunks` (UTF-8 bytes).

    A member whose key is in `drop` is read and left out; when its value is an
    array, one element at a time (`GET /me?with_related_data=true` embeds ten
    days of entries the catalog does not use: tens of thousands of records, the
    largest part of a cold sync's memory). Anything that is not one object, a
    truncated body or trailing garbage raises JSONStreamError.
    """
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8")()
    buf, pos = "", 0
    # start -> first (a key or "}") -> colon -> value -> comma ("," or "}") -> key -> ... -> done;
    # a dropped array: item (an element or "]") -> after_item ("," or "]") -> comma
    state, key = "start", ""
    for chunk in itertools.chain(chunks, (None,)):
        at_end = chunk is None
        buf = buf[pos:] + (text_decoder.decode(b"", final=True) if chunk is None else text_decoder.decode(chunk))
        pos = 0
        while True:
            pos = _skip_ws(buf, pos)
            if pos >= len(buf):
                break
            char = buf[pos]
            if state == "start":
                if char != "{":
                    raise JSONStreamError(f"expected a JSON object, got {buf[pos:pos + 20]!r}")
                state, pos = "first", pos + 1
            elif state == "done":
                raise JSONStreamError(f"unexpected data after the object: {buf[pos:pos + 20]!r}")
            elif char == "}" and state in ("first", "comma"):
                state, pos = "done", pos + 1
            elif state == "comma":
                if char != ",":
                    raise JSONStreamError(f"expected ',' or '}}' at {buf[pos:pos + 20]!r}")
                state, pos = "key", pos + 1
            elif state in ("first", "key"):
                if char != '"':
                    raise JSONStreamError(f"expected a key at {buf[pos:pos + 20]!r}")
                found = _value_at(decoder, buf, pos, at_end)
                if found is None:
                    break
                key, pos = found
                state = "colon"
            elif state == "colon":
                if char != ":":
                    raise JSONStreamError(f"expected ':' at {buf[pos:pos + 20]!r}")
                state, pos = "value", pos + 1
            elif state == "value" and key in drop and char == "[":
                state, pos = "item", pos + 1
            elif state in ("item", "after_item") and char == "]":
                state, pos = "comma", pos + 1
            elif state == "after_item":
                if char != ",":
                    raise JSONStreamError(f"expected ',' or ']' at {buf[pos:pos + 20]!r}")
                state, pos = "item", pos + 1
            else:  # a member's value, or an element of a dropped array
                found = _value_at(decoder, buf, pos, at_end)
                if found is None:
                    break
                value, pos = found
                if state == "item":
                    state = "after_item"
                    continue
                if key not in drop:
                    yield key, value
                state = "comma"
        if at_end:
            break
    if state != "done":
        raise JSONStreamError("truncated JSON: the object never closes" if state != "start" else "empty body")


def iter_json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield the elements of the JSON array spread over `chunks` (UTF-8 bytes).

    A body of `null` counts as an empty array (Toggl writes empty lists as
    null in places). Anything else that is not an array, a truncated body or
    trailing garbage raises JSONStreamError.
    """
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8")()
    buf, pos = "", 0
    state = "start"  # -> "value" (expect an element or "]") -> "comma" (expect "," or "]") -> "done"
    # Lazily: the chunks are read as the elements are handed out (never all of them first).
    for chunk in itertools.chain(chunks, (None,)):
        at_end = chunk is None
        buf = buf[pos:] + (text_decoder.decode(b"", final=True) if chunk is None else text_decoder.decode(chunk))
        pos = 0
        while True:
            pos = _skip_ws(buf, pos)
            if pos >= len(buf):
                break
            char = buf[pos]
            if state == "start":
                if char == "[":
                    state, pos = "value", pos + 1
                    continue
                if buf.startswith("null", pos) and _skip_ws(buf, pos + 4) == len(buf):
                    if at_end:
                        return
                    break  # "null" so far: only the end of the body can confirm it
                if "null".startswith(buf[pos:]) and not at_end:
                    break  # maybe "null", split across chunks
                raise JSONStreamError(f"expected a JSON array, got {buf[pos:pos + 20]!r}")
            if state == "done":
                raise JSONStreamError(f"unexpected data after the array: {buf[pos:pos + 20]!r}")
            if char == "]" and state in ("value", "comma"):
                state, pos = "done", pos + 1
                continue
            if state == "comma":
                if char != ",":
                    raise JSONStreamError(f"expected ',' or ']' at {buf[pos:pos + 20]!r}")
                state, pos = "value", pos + 1
                continue
            found = _value_at(decoder, buf, pos, at_end)
            if found is None:
                break  # the element is not complete yet
            value, end = found
            yield value
            state, pos = "comma", end
        if at_end:
            break
    if state != "done":
        raise JSONStreamError("truncated JSON: the array never closes" if state != "start" else "empty body")
