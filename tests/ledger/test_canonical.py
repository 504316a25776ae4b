"""RFC 8785 canonical JSON: golden bytes and properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.ledger.canonical import canonical_json


def test_golden_bytes() -> None:
    value = {"z": 1, "a": [True, None, "é\u2028"], "m": {"b": 1.5, "a": 10**15}, "\u00e9": "x"}
    assert (
        canonical_json(value)
        == ('{"a":[true,null,"é\u2028"],"m":{"a":1000000000000000,"b":1.5},"z":1,"é":"x"}').encode()
    )
    # RFC 8785 3.2.2.3: numbers serialise as ECMAScript does.
    assert canonical_json([1e21, 0.1, -0.0, 1e-7]) == b"[1e+21,0.1,0,1e-7]"


def test_values_json_cannot_carry_are_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json(float("nan"))
    with pytest.raises(ValueError):
        canonical_json(2**60)  # beyond the interoperable integer range (I-JSON)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_is_a_fixed_point_of_parsing(value: object) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded
