"""How the archive writer lays records out: JSON text as `json.dumps` writes each record, one
per line, and CSV rows whose cells are safe, whatever the batch boundaries."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from domain.dsr.archive import csv_cell, csv_row, flatten
from persistence.dsr.archive import WRITE_BATCH, ArchiveWriter

COLUMNS = ("id", "text", "flag", "count", "tags", "address.city", "address.country", "none")


def _record(i: int) -> dict[str, Any]:
    return {
        "id": f"id-{i}",
        "text": ["plain", "=SUM(A1)", "+1", "-2", "@x", "\tt", "Café ☕", 'q"u,o\r\nte'][i % 8],
        "flag": i % 2 == 0,
        "count": i,
        "tags": ["a", "b"] if i % 3 else [],
        "address": None if i % 4 == 0 else {"city": f"=City {i}", "country": "GB"},
        "none": None,
    }


async def _each(records: Sequence[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for record in records:
        yield record


def test_csv_row_is_each_columns_cell_of_the_flattened_record() -> None:
    for i in range(16):
        record = _record(i)
        flat = flatten(record)
        assert csv_row(record, COLUMNS) == [csv_cell(flat.get(column)) for column in COLUMNS]
    # A flat record takes the short way, with the same cells.
    plain = {"id": "1", "text": "=1+1", "flag": False, "count": 0, "tags": ("x", "y")}
    assert csv_row(plain, ("id", "text", "flag", "count", "tags", "missing")) == [
        "1",
        "'=1+1",
        "false",
        "0",
        "x; y",
        "",
    ]


@pytest.mark.parametrize("count", [0, 1, WRITE_BATCH, WRITE_BATCH + 1, 2 * WRITE_BATCH + 7])
async def test_json_and_csv_entries_hold_every_record_across_batches(count: int) -> None:
    records = [_record(i) for i in range(count)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        writer = ArchiveWriter(zf)
        written = await writer.category("things", COLUMNS, _each(records))
    assert written == count
    zf = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    text = zf.read("things.json").decode("utf-8")
    expected = "[" + ",".join("\n" + json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n"
    assert text == expected
    assert json.loads(text) == records
    rows = list(csv.reader(io.StringIO(zf.read("things.csv").decode("utf-8"), newline="")))
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == [csv_row(record, COLUMNS) for record in records]
    listed = {entry["name"]: entry for entry in writer.files}
    assert listed["things.json"]["records"] == listed["things.csv"]["records"] == count


async def test_a_single_record_category_is_an_object_or_null() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        writer = ArchiveWriter(zf)
        await writer.category("one", COLUMNS, _each([_record(3)]), single=True)
        await writer.category("none", COLUMNS, _each([]), single=True)
    zf = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    assert zf.read("one.json").decode() == "\n" + json.dumps(_record(3), ensure_ascii=False) + "\n"
    assert zf.read("none.json") == b"null\n"
