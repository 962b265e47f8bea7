"""The streaming array decoder gives exactly what json.loads gives, however the bytes are cut."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from togglsync.api.streaming import JSONStreamError, iter_json_array, iter_json_object

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)


def cut(data: bytes, sizes: list[int]):
    pos = 0
    for size in sizes:
        yield data[pos : pos + size]
        pos += size
    yield data[pos:]


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=8), st.lists(st.integers(1, 7), max_size=40), st.booleans())
def test_same_as_json_loads_for_any_chunking(values, sizes, pretty):
    data = json.dumps(values, indent=2 if pretty else None, ensure_ascii=False).encode()
    assert list(iter_json_array(cut(data, sizes))) == values


# Strings full of what a boundary between two compact objects is made of, and values the
# standard library reads but orjson refuses (NaN, integers past 64 bits, lone surrogates).
tricky_text = st.text(alphabet=st.sampled_from(list('},{"\\:[] a\ud800é')), max_size=8)
tricky_values = st.recursive(
    st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | tricky_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(tricky_text, tricky_values, max_size=4), max_size=12),
       st.lists(st.integers(1, 40), max_size=40), st.booleans())
def test_compact_objects_same_as_json_loads_for_any_chunking(values, sizes, ascii_only):
    """Toggl's compact arrays of objects (the fast way), cut anywhere, with `},{` inside strings
    and values only the careful way reads: the same values as json.loads, in the same order."""
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=ascii_only)
    if not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text):
        text = json.dumps(values, separators=(",", ":"))  # a lone surrogate is not UTF-8: escaped
    data = text.encode()
    expected = json.loads(data)
    assert repr(list(iter_json_array(cut(data, sizes)))) == repr(expected)


@pytest.mark.parametrize(
    "body",
    [b'[{"a":1},{"a":2},{"a":3}] x', b'[{"a":1},{"a":2},{"a":3},{"a":4}', b'[{"a":1},{"a":2},{"a":NaN},{"a":4}]x',
     b'[{"a":1},{"a":"},{"},{"a":2}', b'[{"a":1},{"a":2}}]'],
)
def test_compact_malformed_bodies_raise(body):
    for size in (1, 3, len(body)):
        with pytest.raises(JSONStreamError):
            list(iter_json_array(cut(body, [size] * (len(body) // size))))


@pytest.mark.parametrize("body", [b"null", b" null \n", b"[]", b" [ ] "])
def test_empty_forms(body):
    assert list(iter_json_array([body[:2], body[2:]])) == []


@pytest.mark.parametrize(
    "body",
    [b"", b'[{"id": 1}', b'[{"id": 1},', b'[{"id": 1} {"id": 2}]', b'{"id": 1}', b'"Internal error"', b"[1] x",
     b"<html>oops</html>", b"[1,,2]"],
)
def test_malformed_bodies_raise(body):
    with pytest.raises(JSONStreamError):
        list(iter_json_array([body]))


def test_multibyte_characters_split_across_chunks():
    data = json.dumps([{"description": "日本語 🔬 é"}], ensure_ascii=False).encode()
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert list(iter_json_array(chunks)) == [{"description": "日本語 🔬 é"}]


def test_memory_stays_at_one_chunk_however_long_the_body():
    """The chunks are read as the elements are handed out, not all before the first one:
    a body of many chunks never has more than a few of them read ahead."""
    element = json.dumps({"id": 1, "description": "x" * 200}).encode()
    total = 5000
    read = 0

    def body():
        nonlocal read
        yield b"["
        for i in range(total):
            read += 1
            yield element + (b"," if i < total - 1 else b"]")

    handed_out = 0
    for value in iter_json_array(body()):
        handed_out += 1
        assert value["id"] == 1
        # Never more than a couple of chunks read ahead of the element handed out.
        assert read - handed_out <= 2
    assert handed_out == total


# Run in a fresh interpreter: tracemalloc counts every thread's allocations, and in a test
# process the threads of other tests' simulators (still answering, or winding down) allocate
# beside the decoder. Alone, the peak is the decoder's and the body's current chunk.
_PEAK_PROBE = """
import json, sys, tracemalloc
from togglsync.api.streaming import iter_json_array

element = json.dumps({"id": 123456789, "description": "some work on a thing", "tags": ["a", "b"]}).encode()
count = int(sys.argv[1])  # 100,000: about 10 MB of JSON

def body():
    chunk = bytearray(b"[")
    for i in range(count):
        chunk += element + (b"," if i < count - 1 else b"]")
        if len(chunk) >= 1 << 16:
            yield bytes(chunk)
            chunk = bytearray()
    yield bytes(chunk)

tracemalloc.start()
seen = sum(1 for _ in iter_json_array(body()))
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"seen": seen, "peak": peak}))
"""


def test_peak_memory_does_not_grow_with_the_body():
    """tracemalloc peak while decoding a 10 MB and a 30 MB body in 64 KiB chunks: the same, and
    near one chunk (its elements, and orjson's working memory for that run of them; a whole
    body decoded at once: about 40 MB for the 10 MB one)."""
    import subprocess
    import sys

    peaks = []
    for count in (100_000, 300_000):  # about 10 and 30 MB of JSON
        done = subprocess.run([sys.executable, "-c", _PEAK_PROBE, str(count)], capture_output=True, text=True,
                              timeout=120, check=True)
        measured = json.loads(done.stdout)
        assert measured["seen"] == count
        peaks.append(measured["peak"])
    # Flat at about 4 MB (imports done while tracing included); a whole body decoded at once is ten times that.
    assert peaks[1] < 8_000_000, f"peak {peaks[1]} bytes while decoding"
    assert peaks[1] <= peaks[0] * 1.1, f"peak grew with the body: {peaks}"


# --- objects (GET /me?with_related_data=true), a member left out ------------------------------


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.lists(st.integers(1, 7), max_size=40),
       st.booleans(), st.sampled_from(["", "a", "time_entries"]))
def test_object_members_same_as_json_loads_for_any_chunking(value, sizes, pretty, dropped):
    data = json.dumps(value, indent=2 if pretty else None, ensure_ascii=False).encode()
    expected = {k: v for k, v in value.items() if k != dropped}
    assert dict(iter_json_object(cut(data, sizes), drop={dropped})) == expected


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'"Internal error"', b'{"id": 1', b'{"id": 1,}', b'{"id" 1}', b'{1: 2}', b'{"id": 1} x',
     b'{"time_entries": [1, 2', b'{"time_entries": [1 2]}', b'{"time_entries": [1,]x}'],
)
def test_malformed_objects_raise(body):
    with pytest.raises(JSONStreamError):
        list(iter_json_object([body[:3], body[3:]], drop={"time_entries"}))


def test_a_dropped_array_is_read_one_element_at_a_time():
    """GET /me embeds ten days of entries the catalog does not use: tens of thousands at 300,000
    entries. Left out while reading, they never take more than about one chunk of memory."""
    import tracemalloc

    element = json.dumps({"id": 123456789, "description": "Deploy 🚀", "tags": ["a", "b"]}, ensure_ascii=False).encode()
    count = 100_000  # about 7 MB of JSON

    def body():
        chunk = bytearray(b'{"id": 5, "time_entries": [')
        for i in range(count):
            chunk += element + (b"," if i < count - 1 else b"]")
            if len(chunk) >= 1 << 16:
                yield bytes(chunk)
                chunk = bytearray()
        yield bytes(chunk) + b', "projects": [{"id": 7}]}'

    tracemalloc.start()
    try:
        members = dict(iter_json_object(body(), drop={"time_entries"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert members == {"id": 5, "projects": [{"id": 7}]}
    assert peak < 2_000_000, f"peak {peak} bytes while decoding"
