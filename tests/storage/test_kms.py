"""A KMS plugs in behind `KeyWrapper`: every data key is bound to its object."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from citywitness.storage.errors import KeyUnavailable
from citywitness.storage.store import ContentStore
from tests.storage.conftest import pattern, put
from tests.storage.fakes import FakeKms


@pytest.mark.parametrize("rest", ["local"], indirect=True)
async def test_store_works_through_a_kms(make_store: Callable[..., ContentStore]) -> None:
    kms = FakeKms()
    store = make_store(wrapper=kms)
    data = pattern(9000)
    stored = await put(store, data)
    assert stored.kek_id == "kms:alias/citywitness-test"
    assert await store.read_all(stored.sha256) == data
    contexts = [(op, ctx.split(b"/")[1]) for op, ctx in kms.calls]
    assert contexts == [("encrypt", b"upload"), ("encrypt", b"object"), ("decrypt", b"object")]
    assert kms.calls[1][1].endswith(stored.object_id.hex.encode())
    kms.disabled = True  # a revoked or unreachable KMS key
    with pytest.raises(KeyUnavailable):
        await store.read_all(stored.sha256)
