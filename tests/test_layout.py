"""The layout stays honest: the domain never imports the Telegram layer."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_telegram_bot_or_sim():
    offenders = {}
    for path in (ROOT / "core").rglob("*.py"):
        bad = {m for m in imported_modules(path)
               if m.split(".")[0] in ("telegram", "bot", "sim")}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_no_v3_paths_or_invented_fields_in_code():
    banned = ("fundingRate/", "openInterest/", "longLiqUsd", "shortLiqUsd", "coinglassSecret")
    hits = [f"{p.relative_to(ROOT)}: {word}" for folder in ("core", "sim", "bot")
            for p in (ROOT / folder).rglob("*.py") for word in banned if word in p.read_text()]
    assert hits == []
