"""The terminal rendering of analytics answers: aligned tables, withheld cells marked."""

from __future__ import annotations

from collections.abc import Sequence

from domain.analytics.answers import Answer, Table
from domain.analytics.value import TIER_ORDER

WITHHELD = "(suppressed)"


def render_table(table: Table, columns: Sequence[str]) -> list[str]:
    """`table` as aligned text lines: its dimensions, customers, then `columns` of values."""
    if not table.cells:
        return ["  (no customers)"]
    dimensions = list(table.cells[0].dimensions)
    header = [*dimensions, "customers", *columns]
    rows = []
    for cell in table.cells:
        labels = list(cell.dimensions.values())
        if cell.suppressed:
            rows.append([*labels, WITHHELD, *("" for _ in columns)])
        else:
            values = [cell.values.get(c) or "-" for c in columns]
            rows.append([*labels, str(cell.customers), *values])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  " + "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))

    return [line(header), "  " + "  ".join("-" * w for w in widths), *map(line, rows)]


def render_matrix(table: Table, tiers: Sequence[str]) -> list[str]:
    """A (from tier x to tier) table as a matrix of customer counts."""
    counts = {
        (c.dimensions["from_tier"], c.dimensions["to_tier"]): (
            "x" if c.suppressed else str(c.customers)
        )
        for c in table.cells
    }
    width = max(len(t) for t in tiers) + 2
    lines = ["  " + "from \\ to".ljust(width) + "".join(t.rjust(width) for t in tiers)]
    for before in tiers:
        cells = "".join(counts.get((before, after), "0").rjust(width) for after in tiers)
        lines.append("  " + before.ljust(width) + cells)
    return lines


def render_report(period: str, tiers: Answer, movement: Answer, flow: Answer) -> list[str]:
    """The whole report for `period`."""
    order = [t.value for t in TIER_ORDER]
    return [
        f"Custodian analytics report for {period}",
        f"as of {tiers.as_of:%Y-%m-%d %H:%M} UTC; {tiers.consenting_customers} consenting "
        f"customers; cells under {tiers.min_cohort} customers suppressed (x)",
        "",
        "Value tiers (estimated monthly revenue)",
        *render_table(tiers.tables[0], ("revenue", "mean_revenue", "mean_satisfaction")),
        "",
        f"Movement between tiers ({movement.query.split('?')[1].replace('&', ', ')})",
        *render_matrix(movement.tables[0], order),
        "",
        "Customers gained and lost over the last 12 months",
        *render_table(flow.tables[0], ("revenue", "mean_revenue")),
        "",
        "... per month",
        *render_table(flow.tables[1], ("revenue", "mean_revenue")),
        "",
        "Churn by tier",
        *render_table(flow.tables[2], ("revenue",)),
        "",
        f"monthly churn rate {flow.facts.get('monthly_churn_rate') or '-'}; "
        f"lifetime value per customer {flow.facts.get('lifetime_value') or '-'}",
        f"{sum(a.suppressed_cells for a in (tiers, movement, flow))} cells suppressed in all",
    ]
