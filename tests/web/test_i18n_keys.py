"""Every console text exists in both languages: the same keys in web/src/i18n/en and zh-CN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

I18N = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n"


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        found |= _keys(value, path + ".") if isinstance(value, dict) else {path}
    return found


def test_english_and_chinese_have_the_same_namespaces_and_keys() -> None:
    english = {p.name: p for p in (I18N / "en").glob("*.json")}
    chinese = {p.name: p for p in (I18N / "zh-CN").glob("*.json")}
    assert "common.json" in english
    assert sorted(english) == sorted(chinese)
    for name, path in english.items():
        en_keys = _keys(json.loads(path.read_text(encoding="utf-8")))
        zh_keys = _keys(json.loads(chinese[name].read_text(encoding="utf-8")))
        assert en_keys - zh_keys == set(), f"{name}: missing in zh-CN"
        assert zh_keys - en_keys == set(), f"{name}: missing in en"


def test_chinese_texts_are_translated_not_copied() -> None:
    """Most zh-CN values contain Chinese characters (names and codes may stay Latin)."""
    for path in (I18N / "zh-CN").glob("*.json"):
        values = [v for v in _flatten(json.loads(path.read_text(encoding="utf-8"))) if len(v) > 3]
        han = [v for v in values if any("\u4e00" <= ch <= "\u9fff" for ch in v)]
        assert len(han) >= 0.8 * len(values), f"{path.name}: {len(han)}/{len(values)} in Chinese"


def _flatten(tree: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for value in tree.values():
        out += _flatten(value) if isinstance(value, dict) else [str(value)]
    return out
