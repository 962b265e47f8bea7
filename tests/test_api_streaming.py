"""The streaming array decoder gives exactly what json.loads gives, however the bytes are cut."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from togglsync.api.streaming import JSONStreamError, iter_json_array

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
