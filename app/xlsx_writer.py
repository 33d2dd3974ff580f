"""A streaming XLSX writer for plain tables: the sheet XML is built as text, then zipped.

openpyxl spends 10–20 µs a cell in Python (its write-only mode and lxml included, measured
in docs/performance.md), so a year's report of ~40k rows took 6 s to write. A table of plain
values needs little of what openpyxl can do: this writes the few parts a workbook must have
(content types, relationships, workbook, styles, one worksheet per table) with a fixed
stylesheet, about 1 µs a cell. openpyxl still reads uploads (app/spreadsheets.py), and the
tests read every written workbook back with it.

Text is an inline string (never a formula, whatever it starts with); numbers are numbers;
dates and times are Excel serial numbers with a date format. Characters XML 1.0 cannot carry
(control characters other than tab and line ends) are dropped from text.
"""

import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape, quoteattr

# The stylesheet's cell formats (cellXfs), by position.
PLAIN, BOLD, MONEY, PERCENT, DATE, DATETIME = range(6)
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 0 (1900 date system, after February 1900)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Value = str | int | float | Decimal | date | datetime | None


@dataclass
class Sheet:
    """One worksheet: its name, header row (bold), data rows, columns' formats and widths."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Value]]
    money: frozenset[int] = frozenset()  # column indexes shown with two decimals
    percent: frozenset[int] = frozenset()  # column indexes of fractions shown as %
    widths: Sequence[float] = ()


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: str) -> str:
    if not value.isprintable():  # rare: control characters, or spaces other than " "
        value = _ILLEGAL.sub("", value)
    if "&" in value or "<" in value or ">" in value:
        value = escape(value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _cell(ref: str, value: Value, number_style: int) -> str:
    if type(value) is str:  # most cells: checked first, exactly
        return f'<c r="{ref}" t="inlineStr">{_text(value)}</c>'
    if value is None:
        return ""
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr">{_text(value)}</c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - EXCEL_EPOCH).total_seconds() / 86_400
        return f'<c r="{ref}" s="{DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        serial_day = (value - EXCEL_EPOCH.date()).days
        return f'<c r="{ref}" s="{DATE}"><v>{serial_day}</v></c>'
    if isinstance(value, Decimal):
        number = format(value, "f")
    elif isinstance(value, float):
        number = repr(value)
    else:
        number = str(int(value))
    style = f' s="{number_style}"' if number_style else ""
    return f'<c r="{ref}"{style}><v>{number}</v></c>'


def _sheet_xml(sheet: Sheet) -> Iterable[str]:
    yield (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    if sheet.widths:
        yield "<cols>"
        for index, width in enumerate(sheet.widths, start=1):
            yield f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
        yield "</cols>"
    yield "<sheetData>"
    letters = [column_letter(i) for i in range(len(sheet.headers))]
    header = "".join(
        f'<c r="{letters[i]}1" s="{BOLD}" t="inlineStr">{_text(h)}</c>'
        for i, h in enumerate(sheet.headers)
    )
    yield f'<row r="1">{header}</row>'
    styles = [
        MONEY if i in sheet.money else PERCENT if i in sheet.percent else PLAIN
        for i in range(len(sheet.headers))
    ]
    for number, row in enumerate(sheet.rows, start=2):
        while len(letters) < len(row):
            letters.append(column_letter(len(letters)))
            styles.append(PLAIN)
        cells = "".join(
            _cell(f"{letters[i]}{number}", value, styles[i]) for i, value in enumerate(row)
        )
        yield f'<row r="{number}">{cells}</row>'
    yield "</sheetData></worksheet>"


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLES = (
    HEAD + f'<styleSheet xmlns="{MAIN}">'
    '<numFmts count="3">'
    f'<numFmt numFmtId="164" formatCode="{PERCENT_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="166" formatCode="{DATETIME_FORMAT}"/>'
    "</numFmts>"
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    # 4 is Excel's built-in "#,##0.00" (MONEY_FORMAT).
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _content_types(count: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{SHEET_TYPE}"/>'
        for n in range(1, count + 1)
    )
    base = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (
        HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{base}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{base}.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _workbook(titles: Sequence[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{n}" r:id="rId{n}"/>'
        for n, title in enumerate(titles, start=1)
    )
    return (
        HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f"<sheets>{sheets}</sheets></workbook>"
    )


def _workbook_relationships(count: int) -> str:
    kind = RELATIONSHIPS
    links = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{kind}/styles" Target="styles.xml"/>'
    return HEAD + f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{links}{styles}</Relationships>'


ROOT_RELATIONSHIPS = (
    HEAD + f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The XLSX file of these sheets, in this order (sheet names must be unique, ≤ 31 chars)."""
    out = BytesIO()
    # Level 1: the XML compresses about as well as at the default level, several times faster.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _content_types(len(sheets)))
        archive.writestr("_rels/.rels", ROOT_RELATIONSHIPS)
        archive.writestr("xl/workbook.xml", _workbook([s.title for s in sheets]))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_relationships(len(sheets)))
        archive.writestr("xl/styles.xml", STYLES)
        for n, sheet in enumerate(sheets, start=1):
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w") as part:
                chunk: list[str] = []
                for piece in _sheet_xml(sheet):
                    chunk.append(piece)
                    if len(chunk) >= 1000:
                        part.write("".join(chunk).encode())
                        chunk.clear()
                part.write("".join(chunk).encode())
    return out.getvalue()
