"""Challenges as CSV or XLSX: the bureau's export and import (before the challenge routes,
so that /challenges/export is not read as a challenge id)."""

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Response, status

from app.deps import BureauStaff, IdFilter, SearchQuery, SessionDep
from app.errors import error_responses
from app.models import ChallengeStatus, Sector
from app.schemas.challenge_io import ChallengeImport, ChallengeImportForm
from app.schemas.common import Region
from app.services import challenge_io
from app.spreadsheets import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes

router = APIRouter(prefix="/challenges", tags=["challenges"])

_FILE = {"schema": {"type": "string", "format": "binary"}}
EXPORT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "CSV（UTF-8，带 BOM）或 XLSX 文件，列见 docs/api.md",
        "content": {"text/csv": _FILE, XLSX_TYPE: _FILE},
    },
    **error_responses(401, 403, 422),
}


@router.get(
    "/export",
    summary="导出榜单（CSV / XLSX）",
    response_class=Response,
    responses=EXPORT_ANSWERS,
)
def export_challenges(
    session: SessionDep,
    staff: BureauStaff,
    format: Literal["csv", "xlsx"] = "csv",
    status: ChallengeStatus | None = None,
    sector: Sector | None = None,
    region: Annotated[Region | None, Query(description="行政区划代码")] = None,
    q: SearchQuery = None,
    organization_id: IdFilter = None,
) -> Response:
    """The challenges the list's filters select, one row each, in the import's column layout."""
    table = challenge_io.export_table(
        session,
        staff=staff,
        for_csv=format == "csv",
        status=status,
        sector=sector,
        region=region,
        q=q,
        organization_id=organization_id,
    )
    data, media_type = (
        (csv_bytes(table), CSV_TYPE) if format == "csv" else (xlsx_bytes([table]), XLSX_TYPE)
    )
    name = challenge_io.export_filename(format)
    disposition = f"attachment; filename=\"challenges.{format}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    summary="导入榜单（CSV / XLSX）",
    responses=error_responses(401, 403, 413, 422),
)
def import_challenges(
    session: SessionDep,
    staff: BureauStaff,
    form: Annotated[ChallengeImportForm, Form(media_type="multipart/form-data")],
) -> ChallengeImport:
    """Drafts for verified enterprises from a file in the export's layout: all rows or none."""
    created = challenge_io.import_challenges(
        session, staff=staff, filename=form.file.filename or "", data=form.file.file.read()
    )
    return ChallengeImport(created=len(created), ids=[c.id for c in created])
