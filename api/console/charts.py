"""Charts drawn on the server as SVG geometry the template turns into markup: no script,
no external library. A suppressed cell (under the minimum cohort) is drawn as suppressed,
never as zero, and its count is never shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TIERS_ORDER = ("none", "bronze", "silver", "gold", "platinum")
HEAT_CELL = 64
HEAT_LABEL = 90
BAR_HEIGHT = 160
BAR_WIDTH = 18


@dataclass(frozen=True, slots=True)
class Box:
    """One rectangle with its label; `suppressed` boxes are hatched grey."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str
    suppressed: bool = False
    text_fill: str = "#1b1f24"


@dataclass(frozen=True, slots=True)
class Label:
    """A text at a point."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class Chart:
    """What the template draws, and a text alternative for screen readers."""

    width: float
    height: float
    boxes: list[Box]
    labels: list[Label]
    description: str


def _ordered(values: set[str]) -> list[str]:
    known = [tier for tier in TIERS_ORDER if tier in values]
    return known + sorted(values - set(known))


def _blue(share: float) -> tuple[str, str]:
    # From a pale to a deep blue; dark cells get white text (contrast kept above 4.5:1).
    light, dark = (232, 240, 250), (11, 79, 138)
    mixed = tuple(round(a + (b - a) * share) for a, b in zip(light, dark, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed), "#ffffff" if share > 0.45 else "#1b1f24"


def heat_map(table: dict[str, Any] | None, suppressed_word: str, cohort: int) -> Chart | None:
    """The value-tier movement matrix: rows are the tier before, columns the tier after. A
    suppressed cell is hatched and labelled `<cohort`; its count is never drawn."""
    if not table or not table["cells"]:
        return None
    cells = table["cells"]
    rows = _ordered({c["dimensions"]["from_tier"] for c in cells})
    cols = _ordered({c["dimensions"]["to_tier"] for c in cells})
    peak = max((c["customers"] or 0 for c in cells if not c["suppressed"]), default=0) or 1
    boxes: list[Box] = []
    for cell in cells:
        row = rows.index(cell["dimensions"]["from_tier"])
        col = cols.index(cell["dimensions"]["to_tier"])
        x, y = HEAT_LABEL + col * HEAT_CELL, 30 + row * HEAT_CELL
        if cell["suppressed"]:
            boxes.append(Box(x, y, HEAT_CELL - 2, HEAT_CELL - 2, "#d9dde3", f"<{cohort}", True))
            continue
        fill, ink = _blue((cell["customers"] or 0) / peak)
        boxes.append(
            Box(x, y, HEAT_CELL - 2, HEAT_CELL - 2, fill, str(cell["customers"]), text_fill=ink)
        )
    labels = [Label(HEAT_LABEL + i * HEAT_CELL + HEAT_CELL / 2, 20, c) for i, c in enumerate(cols)]
    labels += [
        Label(HEAT_LABEL - 8, 30 + i * HEAT_CELL + HEAT_CELL / 2, r, "end")
        for i, r in enumerate(rows)
    ]
    described = "; ".join(
        f"{c['dimensions']['from_tier']} → {c['dimensions']['to_tier']}: "
        + (suppressed_word if c["suppressed"] else str(c["customers"]))
        for c in cells
    )
    return Chart(
        HEAT_LABEL + len(cols) * HEAT_CELL + 10,
        40 + len(rows) * HEAT_CELL,
        boxes,
        labels,
        described,
    )


def bars(
    table: dict[str, Any] | None,
    group: str,
    series: str,
    suppressed_word: str,
) -> Chart | None:
    """Grouped bars: one group per value of `group`, one bar per value of `series`."""
    if not table or not table["cells"]:
        return None
    cells = table["cells"]
    groups = sorted({c["dimensions"][group] for c in cells})
    kinds = sorted({c["dimensions"][series] for c in cells})
    peak = max((c["customers"] or 0 for c in cells if not c["suppressed"]), default=0) or 1
    palette = ["#0b4f8a", "#a4161a", "#1d6b35", "#7a4d00"]
    step = BAR_WIDTH * len(kinds) + 16
    boxes: list[Box] = []
    for cell in cells:
        g = groups.index(cell["dimensions"][group])
        k = kinds.index(cell["dimensions"][series])
        x = 40 + g * step + k * BAR_WIDTH
        if cell["suppressed"]:
            boxes.append(Box(x, 30, BAR_WIDTH - 2, BAR_HEIGHT, "#d9dde3", "", True))
            continue
        height = max(1.0, BAR_HEIGHT * (cell["customers"] or 0) / peak)
        y = 30 + BAR_HEIGHT - height
        boxes.append(
            Box(x, y, BAR_WIDTH - 2, height, palette[k % len(palette)], str(cell["customers"]))
        )
    labels = [
        Label(40 + i * step + step / 2 - 8, 30 + BAR_HEIGHT + 16, g) for i, g in enumerate(groups)
    ]
    for i, kind in enumerate(kinds):
        boxes.append(Box(40 + i * 110, 4, 12, 12, palette[i % len(palette)], ""))
        labels.append(Label(40 + i * 110 + 16, 14, kind, "start"))
    described = "; ".join(
        f"{c['dimensions'][group]} {c['dimensions'][series]}: "
        + (suppressed_word if c["suppressed"] else str(c["customers"]))
        for c in cells
    )
    return Chart(
        max(40 + len(groups) * step + 20, 40 + len(kinds) * 110),
        BAR_HEIGHT + 60,
        boxes,
        labels,
        described,
    )
