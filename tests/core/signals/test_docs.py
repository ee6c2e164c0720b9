"""docs/signals.md stays in step with the engine: regime table, every signal and threshold."""

from __future__ import annotations

import re
from pathlib import Path

from core.signals.catalog import SIGNALS
from core.signals.regime import regime_table_markdown
from core.thresholds import SPECS

DOC = (Path(__file__).parents[3] / "docs" / "signals.md").read_text(encoding="utf-8")


def test_regime_table_is_the_rendered_constant():
    block = re.search(r"<!-- regime-table:start[^\n]*-->\n(.*?)\n<!-- regime-table:end -->",
                      DOC, re.S)
    assert block is not None
    assert block.group(1) == regime_table_markdown()


def test_every_signal_has_a_rule_section():
    for signal in SIGNALS:
        assert f"### `{signal.id}`" in DOC, signal.id


def test_every_signal_threshold_is_documented():
    for spec in SPECS.values():
        if spec.signal:
            assert f"`{spec.name}`" in DOC, spec.name
