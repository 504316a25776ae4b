"""The retention rule functions the ingest path and the job share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from citywitness.evidence.models import Category
from citywitness.evidence.retention import longest, policy_of, retain_until_for

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


def _category(days: int | None) -> Category:
    return Category(code="c", name="C", retention_days=days, legal_basis="rule 7")


def test_retain_until_for_each_kind_of_rule() -> None:
    assert retain_until_for(_category(30), ANCHOR) == ANCHOR + timedelta(days=30)
    assert retain_until_for(_category(None), ANCHOR) is None
    assert retain_until_for(None, ANCHOR) == ANCHOR + timedelta(days=180)
    late = ANCHOR + timedelta(days=400)
    assert retain_until_for(_category(30), ANCHOR, late) == late
    assert retain_until_for(_category(30), ANCHOR, ANCHOR) == ANCHOR + timedelta(days=30)


def test_the_longest_retention_wins() -> None:
    later = ANCHOR + timedelta(days=1)
    assert longest(ANCHOR, later) == later
    assert longest(later, ANCHOR) == later
    assert longest(None, later) is None
    assert longest(later, None) is None


def test_policy_text() -> None:
    assert policy_of(_category(30)) == "category c: 30 days (rule 7)"
    assert policy_of(None) == "uncategorized: 180 days"
