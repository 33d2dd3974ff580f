"""CSV with a BOM and real XLSX workbooks, written and read back."""

import gc
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from xlsxwriter import Workbook

from app import spreadsheets
from app.spreadsheets import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
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


@pytest.mark.parametrize(
    "day", [date(1900, 3, 1), date(2000, 2, 29), date(2026, 12, 31), date(9999, 12, 31)]
)
def test_a_date_cell_is_the_day_excel_reads(day: date) -> None:
    sheet = load_workbook(io.BytesIO(xlsx_bytes([Table("日期", ["日期"], [[day]])])))["日期"]
    assert (sheet["A2"].value, sheet["A2"].number_format) == (
        datetime(day.year, day.month, day.day),
        DATE_FORMAT,
    )


def test_xlsx_values_keep_their_types_formats_and_column_widths() -> None:
    table = Table(
        title="值",
        headers=["文本", "整数", "金额", "比例", "日期", "时间", "空", "资助金额（万元）"],
        rows=[
            [
                "双塔区",
                7,
                Decimal("1E+2"),
                0.8333,
                date(2026, 3, 1),
                datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
                None,
                True,
            ],
            ["", -3, Decimal("1234.50"), None, None, None, None, None],
        ],
        money=frozenset({2}),
        percent=frozenset({3}),
    )
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table])))["值"]
    assert [c.value for c in sheet[1]] == table.headers
    assert all(c.font.b for c in sheet[1])
    assert sheet["A2"].value == "双塔区"
    assert (sheet["B2"].value, sheet["B2"].data_type) == (7, "n")
    assert (sheet["C2"].value, sheet["C2"].number_format) == (100, MONEY_FORMAT)
    assert sheet["C3"].value == 1234.5
    assert sheet["D2"].value == pytest.approx(0.8333)
    assert sheet["D2"].number_format == PERCENT_FORMAT
    assert (sheet["E2"].value, sheet["E2"].number_format) == (datetime(2026, 3, 1), DATE_FORMAT)
    assert sheet["F2"].value == datetime(2026, 3, 1, 12, 30)  # naive UTC
    assert sheet["F2"].number_format == DATETIME_FORMAT
    assert sheet["G2"].value is None
    assert sheet["H2"].value is True
    assert sheet["B3"].value == -3
    assert sheet.column_dimensions["A"].width == pytest.approx(10, abs=1)
    assert sheet.column_dimensions["H"].width == pytest.approx(18, abs=1)


def test_xlsx_text_is_kept_escaped_and_never_a_formula() -> None:
    texts = ['=SUM(A1:A2)&"<b>"', "+1", "  前后有空格 ", "制表\t换行\n", "http://x.cn/a"]
    book = load_workbook(io.BytesIO(xlsx_bytes([Table("t", ["a"], [[t] for t in texts])])))
    cells = [book.worksheets[0].cell(row, 1) for row in range(2, 2 + len(texts))]
    assert [c.data_type for c in cells] == ["s"] * len(texts)
    assert [c.value for c in cells] == texts
    assert not book.worksheets[0]._hyperlinks


def test_xlsx_sheet_names_and_rows_longer_than_the_headers() -> None:
    tables = [Table('A&B "<x>"', ["a"], [[1, "x", 3]]), Table("表2", ["a"], [[2]])]
    book = load_workbook(io.BytesIO(xlsx_bytes(tables)))
    assert book.sheetnames == ['A&B "<x>"', "表2"]
    assert [c.value for c in book.worksheets[0][2]] == [1, "x", 3]


def test_the_collector_is_paused_while_a_workbook_is_written_and_resumed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []

    class Spy(Workbook):
        def close(self) -> None:
            seen.append(gc.isenabled())
            super().close()

    monkeypatch.setattr(spreadsheets, "Workbook", Spy)
    assert gc.isenabled()
    xlsx_bytes([TABLE])
    assert seen == [False]
    assert gc.isenabled()

    monkeypatch.setattr(Spy, "close", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        xlsx_bytes([TABLE])
    assert gc.isenabled()  # resumed on the error path too


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        xlsx_bytes([TABLE])
        assert not gc.isenabled()
    finally:
        gc.enable()
