"""The XLSX writer: what it writes, read back by openpyxl (as Excel users' tools would)."""

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.xlsx_writer import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    Sheet,
    column_letter,
    workbook_bytes,
)


@pytest.mark.parametrize(
    ("index", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (702, "AAA")]
)
def test_column_letters(index: int, letter: str) -> None:
    assert column_letter(index) == letter


def test_values_keep_their_types_and_formats() -> None:
    sheet = Sheet(
        title="值",
        headers=["文本", "整数", "金额", "比例", "日期", "时间", "空"],
        rows=[
            [
                "双塔区",
                7,
                Decimal("1E+2"),
                0.8333,
                date(2026, 3, 1),
                datetime(2026, 3, 1, 12, 30),
                None,
            ],
            ["", -3, Decimal("1234.50"), None, None, None, None],
        ],
        money=frozenset({2}),
        percent=frozenset({3}),
        widths=[12, 10],
    )
    book = load_workbook(io.BytesIO(workbook_bytes([sheet])))
    ws = book["值"]
    assert [c.value for c in ws[1]] == sheet.headers
    assert all(c.font.b for c in ws[1])
    assert ws["A2"].value == "双塔区"
    assert ws["B2"].value == 7
    assert ws["C2"].value == 100
    assert ws["C2"].number_format == MONEY_FORMAT
    assert ws["C3"].value == 1234.5
    assert ws["D2"].value == pytest.approx(0.8333)
    assert ws["D2"].number_format == PERCENT_FORMAT
    assert ws["E2"].value == datetime(2026, 3, 1)
    assert ws["E2"].number_format == DATE_FORMAT
    assert ws["F2"].value == datetime(2026, 3, 1, 12, 30)
    assert ws["F2"].number_format == DATETIME_FORMAT
    assert ws["G2"].value is None
    assert ws["B3"].value == -3
    assert ws.column_dimensions["A"].width == 12


def test_text_is_escaped_kept_and_never_a_formula() -> None:
    texts = ['=SUM(A1:A2)&"<b>"', "  前后有空格 ", "制表\t换行\n", "控制\x01字符\x1f"]
    book = load_workbook(io.BytesIO(workbook_bytes([Sheet("t", ["a"], [[t] for t in texts])])))
    cells = [book.worksheets[0].cell(row, 1) for row in range(2, 6)]
    assert [c.data_type for c in cells] == ["s"] * 4
    assert [c.value for c in cells] == [*texts[:3], "控制字符"]


def test_sheets_in_order_and_the_package_is_well_formed() -> None:
    sheets = [Sheet(f"表{n}", ["a"], [[n]]) for n in range(3)]
    data = workbook_bytes(sheets)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/styles.xml",
            "xl/worksheets/sheet3.xml",
        } <= set(archive.namelist())
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["表0", "表1", "表2"]
    assert book["表2"]["A2"].value == 2


def test_a_sheet_name_with_xml_characters_is_escaped() -> None:
    book = load_workbook(io.BytesIO(workbook_bytes([Sheet('A&B "<x>"', ["a"], [])])))
    assert book.sheetnames == ['A&B "<x>"']


def test_rows_may_be_longer_than_the_headers() -> None:
    book = load_workbook(io.BytesIO(workbook_bytes([Sheet("t", ["a"], [[1, "x", 3]])])))
    assert [c.value for c in book.worksheets[0][2]] == [1, "x", 3]
