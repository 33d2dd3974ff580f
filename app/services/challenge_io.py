"""Challenges as a spreadsheet: the bureau exports what the list selects and imports drafts.

One column layout for both ways (`COLUMNS`); the cells' encodings are in challenge_cells. An
import validates every row with `ChallengeCreate` and finds each owner by credit code before
it writes anything; one bad cell anywhere and nothing is written.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app import db
from app.errors import FieldError, InvalidRows, field_message
from app.models import Challenge, Organization, OrganizationKind, Role, Sector, User
from app.schemas.challenge import ChallengeCreate
from app.services import challenges
from app.services.access import require_role
from app.services.challenge_cells import (
    CellError,
    csv_text,
    indicators_cell,
    read_csv_text,
    read_indicators,
    read_tags,
    read_time,
    tags_cell,
    time_cell,
)
from app.spreadsheets import Cell, SpreadsheetError, Table, is_xlsx, read_numbered_rows

SECTOR_LABELS: dict[Sector, str] = {
    Sector.agriculture: "农业",
    Sector.industry: "工业",
    Sector.services: "服务业",
}
CREDIT_CODE = "发榜单位统一社会信用代码"
# The layout, in order: header → the ChallengeCreate field it fills (None: export only).
COLUMNS: dict[str, str | None] = {
    "编号": None,
    "标题": "title",
    "问题描述": "description",
    "技术指标": "indicators",
    "预期成果": "expected_outcome",
    "行业领域": "sector",
    "标签": "tags",
    "预算（万元）": "budget",
    "揭榜截止时间": "deadline",
    "所属区域": "region",
    "联系方式": "contact",
    CREDIT_CODE: None,
    "发榜单位": None,
    "状态": None,
}
HEADERS = list(COLUMNS)
FIELD_HEADERS = {name: header for header, name in COLUMNS.items() if name is not None}
# Required in an upload: the fields ChallengeCreate has no default for, and the owner.
REQUIRED = (*(FIELD_HEADERS[f] for f in ("title", "description", "sector", "budget")),
            FIELD_HEADERS["deadline"], FIELD_HEADERS["region"], CREDIT_CODE)  # fmt: skip
# What a credit code can be (18 letters and digits); only such text is looked up, so a cell
# with a NUL (which PostgreSQL refuses in a query) is simply not found.
_CODE_SHAPE = re.compile(r"[0-9A-Z]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_ERRORS = 100  # listed in one answer; the detail says how many there were
EXPORT_BATCH = 2_000


@dataclass(frozen=True)
class RowError:
    row: int  # the sheet's row number: the header is row 1
    column: str | None  # the Chinese header, None for a problem of the whole row
    message: str
    type: str

    def field_error(self) -> FieldError:
        loc: list[str | int] = ["file", self.row]
        if self.column is not None:
            loc.append(self.column)
        return FieldError(
            loc=loc, msg=self.message, type=self.type, row=self.row, column=self.column
        )


def _invalid(errors: Sequence[RowError], detail: str) -> InvalidRows:
    return InvalidRows(detail, errors=[e.field_error() for e in errors])


# -- export ---------------------------------------------------------------------------------


def export_table(session: Session, *, staff: User, for_csv: bool, **filters: Any) -> Table:
    """The challenges the list's filters select, one row each, in the import's layout."""
    require_role(staff, Role.bureau)
    stmt: Select[Any] = (
        challenges.challenges_query(staff, **filters)
        .join(Organization, Organization.id == Challenge.organization_id)
        .add_columns(Organization.credit_code, Organization.name)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    text = csv_text if for_csv else _same
    rows: list[list[Cell]] = []
    # In batches: the session holds loaded objects weakly, so only the rows' cells accumulate.
    for challenge, credit_code, name in session.execute(stmt):
        rows.append(
            [
                challenge.id,
                text(challenge.title),
                text(challenge.description),
                text(indicators_cell(challenge.indicators)),
                text(challenge.expected_outcome),
                SECTOR_LABELS[challenge.sector],
                text(tags_cell(challenge.tags)),
                challenge.budget,
                time_cell(challenge.deadline),
                challenge.region,
                text(challenge.contact),
                credit_code,
                text(name),
                challenge.current_status.label,
            ]
        )
    budget = HEADERS.index("预算（万元）")
    return Table(title="榜单", headers=HEADERS, rows=rows, money=frozenset({budget}))


def _same(value: str) -> str:
    return value


# -- import ---------------------------------------------------------------------------------


def import_challenges(
    session: Session, *, staff: User, filename: str, data: bytes
) -> list[Challenge]:
    """Drafts from an upload in the export's layout, all or none; else InvalidRows (422)."""
    require_role(staff, Role.bureau)
    try:
        headers, rows = read_numbered_rows(filename, data)
    except SpreadsheetError as exc:
        error = FieldError(loc=["file"], msg=str(exc), type="import_unreadable")
        raise InvalidRows(str(exc), errors=[error], code="import_unreadable") from None
    is_csv = not is_xlsx(filename, data)
    columns = _columns(headers)
    owners = _owners(session, [_cell(row, columns, CREDIT_CODE) for _, row in rows])
    errors: list[RowError] = []
    valid: list[tuple[int, int, ChallengeCreate]] = []
    for number, row in rows:
        cells = {h: _cell(row, columns, h) for h in columns}
        if is_csv:
            cells = {h: read_csv_text(v) for h, v in cells.items()}
        row_errors, parsed = _parse_row(number, cells)
        owner_id = _owner(number, cells.get(CREDIT_CODE, ""), owners, row_errors)
        errors += row_errors
        if parsed is not None and owner_id is not None and not row_errors:
            valid.append((number, owner_id, parsed))
    if not rows:
        errors.append(RowError(2, None, "文件只有列名，没有数据行", "no_rows"))
    if errors:
        shown = errors[:MAX_ERRORS]
        more = f"，列出前 {MAX_ERRORS} 处" if len(errors) > MAX_ERRORS else ""
        raise _invalid(shown, f"导入文件有 {len(errors)} 处错误{more}，未导入任何榜单")
    return [
        challenges.add_draft(
            session,
            organization_id=owner_id,
            creator=staff,
            data=parsed,
            reason=f"科技局导入：{_CONTROL.sub('', filename)[:100]} 第 {number} 行",
        )
        for number, owner_id, parsed in valid
    ]


def _columns(headers: list[str]) -> dict[str, int]:
    """Each known header's column index; missing required or repeated headers are row-1 errors."""
    columns: dict[str, int] = {}
    errors = []
    for index, text in enumerate(headers):
        header = _KNOWN_HEADERS.get(_normal(text))  # "预算(万元)" is "预算（万元）"
        if header is not None:
            if header in columns:
                errors.append(RowError(1, header, f"列“{header}”出现了两次", "duplicate_column"))
            columns[header] = index
    missing = [h for h in REQUIRED if h not in columns]
    if missing:
        names = "、".join(missing)
        errors.append(RowError(1, None, f"缺少必需的列：{names}", "missing_columns"))
    if errors:
        detail = f"缺少必需的列：{'、'.join(missing)}" if missing else errors[0].message
        raise _invalid(errors, detail)
    return columns


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


_KNOWN_HEADERS = {_normal(header): header for header in COLUMNS}


def _cell(row: list[str], columns: Mapping[str, int], header: str) -> str:
    index = columns.get(header)
    return row[index] if index is not None and index < len(row) else ""


def _parse_row(
    number: int, cells: Mapping[str, str]
) -> tuple[list[RowError], ChallengeCreate | None]:
    """The row as ChallengeCreate, or its problems by column. A blank cell is a missing field."""
    errors: list[RowError] = []
    body: dict[str, Any] = {}
    for header, field in COLUMNS.items():
        text = cells.get(header, "")
        if field is None or not text:
            continue
        try:
            body[field] = _value(field, text)
        except CellError as exc:
            errors.append(RowError(number, header, str(exc), "cell_format"))
    try:
        parsed = ChallengeCreate.model_validate(body)
    except ValidationError as exc:
        unreadable = {e.column for e in errors}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            column = FIELD_HEADERS.get(name)
            if column is None or column in unreadable:
                continue  # a cell already reported (its text could not be read)
            errors.append(RowError(number, column, _message(error), str(error["type"])))
        return errors, None
    return errors, parsed if not errors else None


def _value(field: str, text: str) -> Any:
    if field == "indicators":
        return read_indicators(text)
    if field == "tags":
        return read_tags(text)
    if field == "sector":
        by_label = {label: sector for sector, label in SECTOR_LABELS.items()}
        return by_label.get(text, text)
    if field == "budget":
        return text.replace(",", "")
    if field == "deadline":
        return read_time(text)
    return text


_PARTS = {"name": "名称", "target": "目标值", "unit": "单位"}


def _message(error: Mapping[str, Any]) -> str:
    loc = error["loc"]
    message = field_message(error)
    if loc[0] == "sector" and error["type"] == "enum":
        return "应为：" + "、".join(SECTOR_LABELS.values())
    if loc[0] == "indicators" and len(loc) >= 2 and isinstance(loc[1], int):
        part = _PARTS.get(str(loc[2]), "") if len(loc) > 2 else ""
        return f"第 {loc[1] + 1} 项指标的{part}：{message}"
    if loc[0] == "tags" and len(loc) >= 2 and isinstance(loc[1], int):
        return f"第 {loc[1] + 1} 个标签：{message}"
    if error["type"] == "missing":
        return "必填"
    return message


def _owners(session: Session, codes: Sequence[str]) -> dict[str, Organization]:
    wanted = sorted({_normal(c) for c in codes if _CODE_SHAPE.fullmatch(_normal(c))})
    found: dict[str, Organization] = {}
    for start in range(0, len(wanted), 500):  # under every database's bound-parameter limit
        chunk = wanted[start : start + 500]
        for organization in session.scalars(
            select(Organization).where(Organization.credit_code.in_(chunk))
        ):
            found[organization.credit_code or ""] = organization
    return found


def _owner(
    number: int, code: str, owners: Mapping[str, Organization], errors: list[RowError]
) -> int | None:
    """The id of the verified enterprise the row names; else an error in the credit code column."""
    if not code:
        errors.append(RowError(number, CREDIT_CODE, "必填", "missing"))
        return None
    organization = owners.get(_normal(code))
    if organization is None:
        problem = ("没有以此统一社会信用代码注册的单位", "unknown_organization")
    elif organization.kind is not OrganizationKind.enterprise:
        problem = ("该单位不是企业，不能发榜", "role_not_allowed")
    elif not organization.is_verified:
        label = organization.status.label
        problem = (f"该企业的审核状态为“{label}”，须为已审核", "organization_not_verified")
    else:
        return organization.id
    errors.append(RowError(number, CREDIT_CODE, *problem))
    return None


def export_filename(extension: str) -> str:
    """The export's file name, dated in China time: 榜单导出-20261201.csv."""
    return f"榜单导出-{db.utcnow().astimezone(db.CHINA):%Y%m%d}.{extension}"
