"""Tables as spreadsheets people open in Excel: CSV (UTF-8 with a BOM) and real XLSX.

A `Table` is a title, Chinese column headers and rows of plain values (str, int, Decimal,
date, None). Writing: `csv_bytes` (one table; Excel reads UTF-8 only with the BOM) and
`xlsx_bytes` (a sheet per table, numbers as numbers, money with two decimals; written by
XlsxWriter, a maintained library for writing workbooks). Reading, with openpyxl:
`read_rows` answers the header row and the data rows of an uploaded CSV or XLSX file, every
cell as text, or raises `SpreadsheetError` for a file that is neither.
"""

import csv
import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zipfile import BadZipFile, ZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

Cell = str | int | float | Decimal | date | datetime | None
BOM = "\ufeff"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
# Day 0 of Excel's 1900 date system as it counts from 1900-03-01 on (it also counts a
# 1900-02-29 that never was): a date's cell is its number of days since this one.
EXCEL_EPOCH = date(1899, 12, 30)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000  # an upload with more data rows is refused
# An XLSX upload is a zip: what it would unpack to is bounded, so a small file cannot blow up.
MAX_XLSX_UNPACKED = 64 * 1024 * 1024


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a workbook's writing.

    XlsxWriter makes a tracked object per cell, and the collections those trigger (a full one
    rescans every live object) took ~20% of a year's report workbook: 1.43 against 1.16 s a
    workbook, alternating, at load 6.5 (docs/performance.md, "How the statistics stay fast").
    Reference counting still frees what the writing drops; only cycles wait for the next
    collection. Process-wide: if another thread paused it first, that thread resumes it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table: bold headers, numbers as numbers, text as text."""
    with collector_paused():
        return _xlsx_bytes(tables)


def _xlsx_bytes(tables: Sequence[Table]) -> bytes:
    out = io.BytesIO()
    # in_memory: no temporary files; text goes in by write_string only, so a cell that
    # starts with "=" is text, never a formula (write() would make it one).
    book = Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": MONEY_FORMAT})
    percent = book.add_format({"num_format": PERCENT_FORMAT})
    day = book.add_format({"num_format": DATE_FORMAT})
    moment = book.add_format({"num_format": DATETIME_FORMAT})
    for table in tables:
        sheet = book.add_worksheet(table.title[:31])
        for index, header in enumerate(table.headers):
            sheet.set_column(index, index, max(10, 2 * len(header) + 2))
            sheet.write_string(0, index, header, bold)
        formats = [
            money if i in table.money else percent if i in table.percent else None
            for i in range(len(table.headers))
        ]
        write_string, write_number = sheet.write_string, sheet.write_number
        for row_number, row in enumerate(table.rows, start=1):
            for column, value in enumerate(row):
                kind = type(value)
                if kind is str:
                    write_string(row_number, column, value)
                elif value is None:
                    continue
                elif kind is int or kind is float or kind is Decimal:
                    number_format = formats[column] if column < len(formats) else None
                    number = float(value)  # type: ignore[arg-type]  # one of the three, above
                    write_number(row_number, column, number, number_format)
                else:
                    _write_other(sheet, row_number, column, value, day, moment)
    book.close()
    return out.getvalue()


def _write_other(
    sheet: Worksheet, row: int, column: int, value: Cell, day: Format, moment: Format
) -> None:
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, datetime):  # Excel has no time zones: times go in as naive UTC
        sheet.write_datetime(row, column, value.replace(tzinfo=None), moment)
    elif isinstance(value, date):  # the day's serial number: what write_datetime writes, faster
        sheet.write_number(row, column, (value - EXCEL_EPOCH).days, day)
    elif isinstance(value, str):
        sheet.write_string(row, column, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, float(value))


def read_rows(filename: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header row and the data rows of a CSV or XLSX upload, every cell as stripped text."""
    headers, numbered = read_numbered_rows(filename, data)
    return headers, [row for _, row in numbered]


def read_numbered_rows(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """As `read_rows`, each data row with its row number in the sheet (the first row is 1).

    Empty rows are skipped but still counted, so the numbers are the ones Excel shows.
    """
    if is_xlsx(filename, data):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    numbered = []
    for number, row in enumerate(rows, start=1):
        if any(cell for cell in row):
            numbered.append((number, row))
            if len(numbered) - 1 > MAX_ROWS:
                raise SpreadsheetError(f"数据行过多：一次最多导入 {MAX_ROWS} 行")
    if not numbered:
        raise SpreadsheetError("文件为空：第一行应为列名")
    return numbered[0][1], numbered[1:]


def is_xlsx(filename: str, data: bytes) -> bool:
    """Whether `read_rows` reads the upload as XLSX (a zip, or so named), else as CSV."""
    return data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError("CSV 文件须为 UTF-8 编码（Excel：另存为“CSV UTF-8”）") from None
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, an unclosed quote at the end
            raise SpreadsheetError(f"CSV 文件第 {reader.line_num} 行无法解析") from exc
        yield [cell.strip() for cell in row]


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    try:
        with ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (BadZipFile, OSError, ValueError) as exc:
        raise SpreadsheetError("无法读取的 XLSX 文件") from exc
    if unpacked > MAX_XLSX_UNPACKED:
        raise SpreadsheetError("XLSX 文件解压后过大")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            # Lazily: the caller stops at the row limit without reading the rest.
            for row in book.worksheets[0].iter_rows(values_only=True):
                yield [_cell_text(cell) for cell in row]
        finally:
            book.close()
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
        # SyntaxError: the XML parsers' ParseError for a damaged sheet.
        raise SpreadsheetError("无法读取的 XLSX 文件") from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
