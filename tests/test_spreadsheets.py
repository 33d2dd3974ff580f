"""CSV with a BOM and real XLSX workbooks, written and read back."""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.spreadsheets import (
    SpreadsheetError,
    Table,
    csv_bytes,
    read_numbered_rows,
    read_rows,
    xlsx_bytes,
)

TABLE = Table(
    title="县区排名",
    headers=["序号", "区域", "金额（万元）", "完成率"],
    rows=[[1, "双塔区", Decimal("1234.50"), 0.75], [2, "龙城区", Decimal("0"), None]],
    money=frozenset({2}),
    percent=frozenset({3}),
)


def test_csv_starts_with_a_bom_and_keeps_chinese_headers() -> None:
    data = csv_bytes(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines()[:2] == [
        "序号,区域,金额（万元）,完成率",
        "1,双塔区,1234.50,0.75",
    ]


def test_xlsx_has_a_sheet_per_table_with_numbers_as_numbers() -> None:
    second = Table(title="新增榜单", headers=["日期"], rows=[[date(2026, 3, 1)]])
    book = load_workbook(io.BytesIO(xlsx_bytes([TABLE, second])))
    assert book.sheetnames == ["县区排名", "新增榜单"]
    sheet = book["县区排名"]
    assert [c.value for c in sheet[1]] == TABLE.headers
    assert sheet["C2"].value == 1234.5
    assert sheet["C2"].number_format == "#,##0.00"
    assert sheet["D2"].number_format == "0.0%"
    assert sheet["A2"].value == 1


@pytest.mark.parametrize("write", [csv_bytes, lambda t: xlsx_bytes([t])])
def test_what_is_written_reads_back(write: object) -> None:
    assert callable(write)
    headers, rows = read_rows("x.xlsx" if write is not csv_bytes else "x.csv", write(TABLE))
    assert headers == TABLE.headers
    assert rows[0][:3] == ["1", "双塔区", "1234.50" if write is csv_bytes else "1234.5"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.csv", "序号,区域".encode("gbk"), "UTF-8"),
        ("a.xlsx", b"PK\x03\x04 not really a zip", "XLSX"),
        ("a.csv", b"", "为空"),
    ],
)
def test_unreadable_uploads_are_refused_in_chinese(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SpreadsheetError, match=message):
        read_rows(name, data)


def test_text_that_starts_with_an_equals_sign_stays_text_in_xlsx() -> None:
    table = Table(title="榜单", headers=["标题"], rows=[['=HYPERLINK("http://x")']])
    book = load_workbook(io.BytesIO(xlsx_bytes([table])))
    cell = book.worksheets[0]["A2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://x")'


@pytest.mark.parametrize(("name", "write"), [("a.csv", csv_bytes), ("a.xlsx", None)])
def test_numbered_rows_count_the_blank_ones(name: str, write: object) -> None:
    table = Table(title="t", headers=["a"], rows=[["1"], [None], ["2"]])
    data = csv_bytes(table) if write is csv_bytes else xlsx_bytes([table])
    assert read_numbered_rows(name, data) == (["a"], [(2, ["1"]), (4, ["2"])])


def test_a_zip_that_would_unpack_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.spreadsheets.MAX_XLSX_UNPACKED", 1000)
    with pytest.raises(SpreadsheetError, match="过大"):
        read_rows("a.xlsx", xlsx_bytes([TABLE]))


def test_a_csv_field_over_the_csv_limit_is_refused_not_a_crash() -> None:
    with pytest.raises(SpreadsheetError, match="无法解析"):
        read_rows("a.csv", b'a\n"' + b"x" * 200_000 + b'"\n')
