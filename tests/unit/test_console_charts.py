"""The console's charts: counts drawn where published, suppressed cells drawn as
suppressed with no count anywhere in the drawing or its text alternative."""

from __future__ import annotations

from typing import Any

from api.console.charts import bars, heat_map


def _cell(dimensions: dict[str, str], customers: int | None) -> dict[str, Any]:
    return {"dimensions": dimensions, "suppressed": customers is None, "customers": customers}


def test_the_heat_map_shows_counts_and_hides_suppressed_ones() -> None:
    table = {
        "cells": [
            _cell({"from_tier": "bronze", "to_tier": "silver"}, 42),
            _cell({"from_tier": "silver", "to_tier": "gold"}, None),
            _cell({"from_tier": "gold", "to_tier": "gold"}, 17),
        ]
    }
    chart = heat_map(table, "suppressed", 10)
    assert chart is not None
    labels = {box.label: box for box in chart.boxes}
    assert labels["42"].fill != labels["17"].fill  # the larger count is the darker cell
    hidden = [box for box in chart.boxes if box.suppressed]
    assert [box.label for box in hidden] == ["<10"]
    assert "silver → gold: suppressed" in chart.description
    assert [label.text for label in chart.labels if label.anchor == "end"] == [
        "bronze",
        "silver",
        "gold",
    ]


def test_bars_scale_to_the_largest_published_count() -> None:
    table = {
        "cells": [
            _cell({"month": "2026-01", "movement": "gained"}, 30),
            _cell({"month": "2026-01", "movement": "lost"}, 15),
            _cell({"month": "2026-02", "movement": "gained"}, None),
        ]
    }
    chart = bars(table, "month", "movement", "suppressed")
    assert chart is not None
    drawn = {box.label: box for box in chart.boxes if box.label}
    assert drawn["30"].height == 2 * drawn["15"].height
    suppressed = [box for box in chart.boxes if box.suppressed]
    assert len(suppressed) == 1
    assert suppressed[0].label == ""
    assert "2026-02 gained: suppressed" in chart.description


def test_no_cells_no_chart() -> None:
    assert heat_map({"cells": []}, "suppressed", 10) is None
    assert bars(None, "month", "movement", "suppressed") is None
