"""Tables as spreadsheets people open in Excel: CSV (UTF-8 with a BOM) and real XLSX.

A `Table` is a title, Chinese column headers and rows of plain values (str, int, Decimal,
date, None). Writing: `csv_bytes` (one table; Excel reads UTF-8 only with the BOM) and
`xlsx_bytes` (a sheet per table, numbers as numbers, money with two decimals). Reading:
`read_rows` answers the header row and the data rows of an uploaded CSV or XLSX file, every
cell as text, or raises `SpreadsheetError` for a file that is neither.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

Cell = str | int | float | Decimal | date | datetime | None
BOM = "\ufeff"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000  # an upload with more data rows is refused


@dataclass
class Table:
    title: str  # the sheet's name: at most 31 characters, no []:*?/\
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    money: frozenset[int] = frozenset()  # column indexes shown with two decimals
    percent: frozenset[int] = frozenset()  # column indexes of fractions shown as %


class SpreadsheetError(ValueError):
    """An upload that is not a readable CSV or XLSX file (the message is Chinese)."""


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def csv_bytes(table: Table) -> bytes:
    """One table as CSV: UTF-8 with a BOM, CRLF line ends (what Excel expects)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_text(value) for value in row])
    return (BOM + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table: bold headers, numbers as numbers."""
    book = Workbook()
    if book.active is not None:
        book.remove(book.active)  # the empty default sheet
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            # Excel has no time zones: times go in as naive UTC.
            sheet.append([_naive(value) for value in row])
        for index in table.money:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
                cell.number_format = MONEY_FORMAT
        for index in table.percent:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
                cell.number_format = PERCENT_FORMAT
        for index, header in enumerate(table.headers):
            letter = sheet.cell(row=1, column=index + 1).column_letter
            sheet.column_dimensions[letter].width = max(10, 2 * len(header) + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _naive(value: Cell) -> Cell:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def read_rows(filename: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header row and the data rows of a CSV or XLSX upload, every cell as stripped text."""
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise SpreadsheetError("文件为空：第一行应为列名")
    if len(rows) - 1 > MAX_ROWS:
        raise SpreadsheetError(f"数据行过多：一次最多导入 {MAX_ROWS} 行")
    return rows[0], rows[1:]


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError("CSV 文件须为 UTF-8 编码（Excel：另存为“CSV UTF-8”）") from None
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SpreadsheetError("无法读取的 XLSX 文件") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
