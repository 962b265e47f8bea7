"""Decode a JSON array element by element while it downloads.

`GET /me/time_entries` for a cold sync answers with one array of every entry
in 89 days: 100,000 entries are about 44 MB of JSON, and `json.loads` first
turns it into one Python string (four bytes per character as soon as one
emoji appears) and then into all records at once: about 300 MB. Reading the
body in chunks and handing out one record at a time keeps memory at the size
of a batch, whatever the size of the answer. The standard library's
`JSONDecoder.raw_decode` does the parsing; this module only finds where each
element starts.

An array of objects written compactly (Toggl's answers: `},{` between two
elements) takes a faster way first: each run of whole elements the chunks
hold so far is parsed by orjson in one call (about a third of the time of
the careful way). A `},{` inside a string, or anything orjson refuses or
reads differently from the standard library (`NaN`, lone surrogates, invalid
UTF-8, a body that is not such an array), hands the rest
of the body, from the last element boundary it is sure of, to the careful
way: the same values, and the same errors, either way. (A run holding a
number of 19 digits or more goes to the standard library's `json.loads`:
orjson reads integers past 64 bits as floats.)
"""

from __future__ import annotations

import codecs
import itertools
import json
from collections.abc import Callable, Container, Generator, Iterable, Iterator
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
    chunks = iter(chunks)
    rest = yield from _compact_objects(chunks)
    if rest is not None:
        yield from _careful_array(itertools.chain((rest,), chunks))


# Between two elements of a compact array of objects.
_BOUNDARY = b"},{"
# Bytes the fast way holds without finding a boundary before it leaves the body to the careful
# way (an array of something else, or pretty-printed): memory stays at about a chunk.
_FAST_HOLD = 1 << 20
# Boundaries tried, last first, when the last one turns out to lie inside a string.
_FAST_TRIES = 3


def _compact_objects(chunks: Iterator[bytes]) -> Generator[Any, None, bytes | None]:
    """The fast way of `iter_json_array`: yield the leading elements orjson can read in runs,
    and return None when it read the whole body, else the bytes the careful way must start
    from (a `[` and what follows the last element yielded; the rest of `chunks` after it)."""
    import orjson  # here: the fast commands never parse an array

    buf = b""
    for chunk in chunks:
        buf += chunk
        start = buf.lstrip()
        if start:
            break
    else:
        return buf
    if not start.startswith(b"["):
        return buf
    buf = start[1:]
    for chunk in chunks:
        buf += chunk
        cut = len(buf)
        for _ in range(_FAST_TRIES):
            cut = buf.rfind(_BOUNDARY, 0, cut)
            if cut < 0:
                break
            try:
                values = _loads_run(orjson.loads, b"[" + buf[: cut + 1] + b"]")
            except ValueError:
                continue  # inside a string, or orjson's reading differs: try an earlier one
            buf = buf[cut + 2 :]
            yield from values
            del values  # before the next run is parsed: one run in memory at a time
            break
        else:
            return b"[" + buf
        if cut < 0 and len(buf) > _FAST_HOLD:
            return b"[" + buf
    try:
        values = _loads_run(orjson.loads, b"[" + buf)  # the last elements, the closing bracket
    except ValueError:
        return b"[" + buf
    if not isinstance(values, list):
        return b"[" + buf
    yield from values
    return None


# 19 digits in a row: maybe an integer orjson would read as a float (it keeps integers
# exact only from -2**63 to 2**64 - 1; the standard library, any size). Found by turning every
# digit into "0" and looking for 19 of them: a regular expression for it took four times as
# long as orjson's whole parse of the run.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def _loads_run(loads: Callable[[bytes], Any], run: bytes) -> Any:
    """A run of whole elements (as JSON array bytes) by orjson's `loads`, or by the standard
    library when it holds a long number (strict UTF-8 either way). ValueError when the run
    is not valid JSON."""
    if run.translate(_DIGITS_AS_ZERO).find(_LONG_DIGITS) < 0:
        return loads(run)
    return json.loads(run.decode("utf-8"))


def _careful_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """`iter_json_array` by the standard library's decoder, one element at a time."""
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
