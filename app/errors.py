"""The AppError tree and the handlers that answer RFC 9457 problem details."""

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.retry import mark_retryable

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Every problem `code` the API answers, with its meaning. It is the enum of `Problem.code` in
# the OpenAPI, and docs/api.md lists the same codes: tests/test_problem_codes.py scans app/ for
# the codes used (`code="..."` and class-level `code = "..."`) and fails on one missing here or
# there. A new code is one line here and one line in docs/api.md.
CODES: dict[str, str] = {
    # 400
    "bad_request": "请求无法处理（例如表单无法解析）",
    # 401
    "not_authenticated": "需要登录：未带令牌",
    "invalid_token": "令牌无效、已过期或其用户已停用",
    "invalid_credentials": "用户名或密码错误",
    # 403
    "forbidden": "无权执行此操作",
    "role_not_allowed": "当前角色不能执行此操作",
    "organization_not_verified": "所在单位尚未通过科技局审核",
    "not_challenge_owner": "只有发榜单位（或科技局）可以执行此操作",
    "not_bidder": "只有申报单位可以执行此操作",
    "not_project_party": "只有项目的相关方可以执行此操作",
    "own_change_request": "变更申请须由另一方确认，提出方不能自己决定",
    "not_offering_owner": "只有发布单位可以修改或删除此能力或成果",
    "organization_rejected": "所在单位已被科技局驳回，不能再执行写操作",
    "organization_banned": "所在单位因承担项目失信违规，禁止揭榜期内不能揭榜",
    # 404
    "not_found": "路径不存在",
    "organization_not_found": "单位不存在或无权查看",
    "challenge_not_found": "榜单不存在或无权查看",
    "capability_not_found": "科研能力不存在或无权查看",
    "result_not_found": "科技成果不存在或无权查看",
    "bid_not_found": "申报不存在或无权查看",
    "project_not_found": "项目不存在或无权查看",
    "milestone_not_found": "里程碑不存在（或不属于该项目）",
    "change_request_not_found": "变更申请不存在或无权查看",
    "objection_not_found": "异议不存在",
    "term_not_found": "领域词不存在",
    "notification_not_found": "通知不存在或不属于当前用户",
    "expert_not_found": "专家不存在",
    "reviewer_not_found": "该专家不是本榜单的评审专家",
    # 405
    "method_not_allowed": "该路径不支持此请求方法（`Allow` 头列出支持的方法）",
    # 409
    "conflict": "与现有数据冲突（并发修改或重复），刷新后重试",
    "invalid_transition": "对象当前状态不允许此操作",
    "invalid_project_transition": "项目当前状态不允许此操作",
    "project_not_running": "项目不在允许此操作的实施阶段（未签订任务书、验收中或已结束）",
    "change_request_pending": "该项目已有待确认的变更申请",
    "over_funding": "拨付后累计金额将超过财政资金",
    "deadline_passed": "揭榜截止时间已过，不能发布",
    "challenge_has_bids": "榜单已有揭榜申报，不能撤回",
    "challenge_not_open": "榜单不在可评选、可授榜的状态",
    "bidding_closed": "榜单不在揭榜期内",
    "duplicate_bid": "本单位对该榜单已有有效申报",
    "already_nominated": "该榜单已有提名的申报",
    "username_taken": "用户名已被使用",
    "credit_code_taken": "统一社会信用代码已注册",
    "registration_conflict": "用户名或统一社会信用代码已被使用（并发注册）",
    "term_exists": "领域词已存在",
    "owner_not_verified": "发榜单位未通过（或已被撤销）审核，不能发布或授榜",
    "bidder_not_verified": "申报单位未通过（或已被撤销）审核，不能授榜",
    "conflict_of_interest": "专家所在单位是发榜单位或揭榜单位，须回避",
    "reviewer_exists": "该专家已是本榜单的评审专家",
    "reviewer_recused": "专家已回避本榜单的评审",
    "reviewer_has_reviews": "专家已提交评审，不能移除",
    "review_closed": "榜单已授榜、撤回或取消，评审已结束",
    "criteria_locked": "已有专家提交评审，评审指标不能再改",
    "duplicate_review": "该专家已评审过此申报",
    "publicity_ended": "公示期已结束（或项目已不在公示中），不能再提出异议",
    "objection_already_resolved": "该异议已处理，不能再次处理",
    "not_signing": "项目不在任务书签订阶段，不能签署",
    "already_signed": "该方已签署任务书（每方只签一次）",
    "rectification_overdue": "整改期限已过，不能再申请验收（由科技局判定不通过或终止）",
    "rectification_pending": "整改期限未到，揭榜单位仍可再次申请验收",
    "rectification_used": "已整改过一次，验收结论只能为通过或不通过",
    # 413
    "payload_too_large": "请求体超过上限（默认 1 MiB）",
    # 422
    "validation_error": "请求参数校验失败，`errors` 逐项列出字段",
    "malformed_json": "请求体不是合法的 JSON",
    "weak_password": "密码过于常见，或包含用户名",
    "reserved_organization_name": "单位名称冒用科技局的名称",
    "unknown_organization": "所填单位不存在",
    "missing_indicators": "缺少指标：申报未承诺榜单的某些指标，或验收记录缺少任务书中的指标",
    "unknown_indicators": "有榜单（任务书）以外的指标",
    "missing_scores": "评审缺少某些评审指标的分数",
    "unknown_criteria": "评审给了榜单没有的评审指标打分",
    "funding_over_budget": "政府资助超过申报预算",
    "duplicate_indicator": "验收记录中同一指标出现多次",
    "indicators_not_met": "有指标未达标且未书面说明豁免，不能验收通过",
    "import_unreadable": "导入文件无法读取：不是 CSV（UTF-8）或 XLSX、为空或行数过多",
    "import_invalid": "导入文件有错误（缺列或单元格不合规），`errors` 按行、列列出；未导入任何数据",
    # 429
    "rate_limited": "请求过于频繁，按 `Retry-After` 秒后重试",
    "preview_busy": "匹配预览繁忙，按 `Retry-After` 秒后重试",
    # 500
    "internal_error": "服务器内部错误",
    # 503
    "service_unavailable": "服务暂时不可用，按 `Retry-After` 秒后重试",
    "database_unavailable": "数据库暂时不可用，稍后重试",
    "matcher_starting": "匹配服务正在启动（编译或载入索引），按 `Retry-After` 秒后重试",
    "database_busy": "数据库繁忙（锁等待或语句超时、死锁、连接池已满），按 `Retry-After` 秒后重试",
}


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='字段路径，如 ["body", "budget"]')
    msg: str = Field(description="中文说明")
    type: str = Field(description="Pydantic 的错误类型（如 missing），或本 API 的错误码")
    # Only in the errors of a spreadsheet upload (POST /challenges/import).
    row: int | None = Field(default=None, description="导入文件的行号（列名行为第 1 行）")
    column: str | None = Field(default=None, description="导入文件的列名")


class Problem(BaseModel):
    """RFC 9457 problem details, plus a stable machine `code`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="给人看的中文说明")
    code: str = Field(
        description="稳定的机器错误码（见 docs/api.md）", json_schema_extra={"enum": list(CODES)}
    )
    errors: list[FieldError] | None = None


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"
    # Seconds after which a retry may succeed: sent as `Retry-After` (429, 503).
    retry_after: int | None = None

    def __init__(
        self, detail: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    retry_after = 60


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    retry_after = 5


class TermsChanged(ServiceUnavailable):
    """The bureau's match terms changed while this transaction segmented text with the old
    ones: its tokens would be stale. Like a lost serialisation race, the request runs again."""

    code = "database_busy"
    retry_after = 1


class MatcherStarting(ServiceUnavailable):
    """The matcher's index is still loading."""

    code = "matcher_starting"


class InvalidInput(AppError):
    """Input that passed the schema but breaks a rule: a 422 naming the field, with its code."""

    status = 422
    code = "validation_error"

    def __init__(self, detail: str, *, loc: Sequence[str | int], code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.loc = list(loc)


class InvalidRows(AppError):
    """An upload whose rows break the rules: a 422 listing every problem by row and column."""

    status = 422
    code = "import_invalid"

    def __init__(
        self, detail: str, *, errors: Sequence[FieldError], code: str | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.errors = list(errors)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, code=code, **extra
    )
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        body.model_dump(exclude_none=True, mode="json"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry that documents a route's problem answers."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# Pydantic's messages for the error types a client meets, in Chinese; `type` stays as Pydantic
# gives it (the stable machine name), and a rare type keeps Pydantic's English `msg`.
_FIELD_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为十进制数",
    "decimal_parsing": "应为十进制数",
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "enum": "应为以下值之一：{expected}",
    "literal_error": "应为以下值之一：{expected}",
    "datetime_type": "应为带时区的 ISO 8601 时间",
    "datetime_parsing": "应为带时区的 ISO 8601 时间",
    "datetime_from_date_parsing": "应为带时区的 ISO 8601 时间",
    "timezone_aware": "时间须带时区",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "json_invalid": "JSON 格式错误",
    "json_type": "JSON 格式错误",
}


def field_message(error: Mapping[str, Any]) -> str:
    """A Pydantic error's `msg` in Chinese: our validators' own text, or the type's message."""
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind in {"value_error", "assertion_error"} and "error" in ctx:
        # Our validators raise ValueError("中文…"); Pydantic prefixes "Value error, ".
        return str(ctx["error"])
    template = _FIELD_MESSAGES.get(kind)
    try:
        return template.format(**ctx) if template is not None else str(error.get("msg", ""))
    except (KeyError, IndexError, ValueError):  # a context without the value the text names
        return str(error.get("msg", ""))


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = [part for part in err.get("loc", ()) if isinstance(part, str | int)]
        out.append(FieldError(loc=loc, msg=field_message(err), type=str(err.get("type", ""))))
    return out


def _answer(exc: AppError) -> JSONResponse:
    """The problem answer of an AppError: its status and code, `errors` for a rule on a field,
    `Retry-After` where a retry may succeed."""
    if isinstance(exc, InvalidInput):
        errors = [FieldError(loc=exc.loc, msg=exc.detail, type=exc.code)]
        return problem(exc.status, exc.code, exc.detail, errors=errors)
    if isinstance(exc, InvalidRows):
        return problem(exc.status, exc.code, exc.detail, errors=exc.errors)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return problem(exc.status, exc.code, exc.detail, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if isinstance(exc, TermsChanged):
        mark_retryable(request.scope)  # app.retry runs the request again (at most twice more)
    return _answer(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(e.type == "json_invalid" for e in errors):
        return problem(422, "malformed_json", "请求体不是合法的 JSON", errors=errors)
    return problem(422, "validation_error", "请求参数校验失败", errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method the API serves on this path (Starlette names only the first route's)."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    methods = {
        method.upper()
        for template, operations in paths.items()
        if compile_path(template)[0].match(request.url.path)
        for method in operations
    }
    return ", ".join(sorted(methods))


def _unparsable_json(cause: BaseException | None) -> JSONResponse | None:
    """FastAPI's 400 for a JSON body it could not parse, as the contract's 422 malformed_json."""
    # json.loads raises RecursionError for deep nesting and UnicodeDecodeError for bytes that
    # are not UTF-8; FastAPI turns both into a bare 400 "There was an error parsing the body".
    if isinstance(cause, RecursionError):
        detail = "请求体 JSON 嵌套层数过多"
    elif isinstance(cause, UnicodeDecodeError):
        detail = "请求体不是合法的 UTF-8 编码 JSON"
    else:
        return None
    errors = [FieldError(loc=["body"], msg=detail, type="json_invalid")]
    return problem(422, "malformed_json", detail, errors=errors)


class _HttpProblem(NamedTuple):
    code: str
    detail: str


# What Starlette and FastAPI raise themselves (unknown path, wrong method, a form that cannot be
# parsed), with a Chinese detail instead of their English one.
_HTTP_PROBLEMS = {
    400: _HttpProblem(code="bad_request", detail="请求无法解析"),
    401: _HttpProblem(code="not_authenticated", detail="请先登录"),
    403: _HttpProblem(code="forbidden", detail="无权执行此操作"),
    404: _HttpProblem(code="not_found", detail="请求的路径不存在"),
    405: _HttpProblem(code="method_not_allowed", detail="该路径不支持此请求方法"),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and (unparsable := _unparsable_json(exc.__cause__)):
        return unparsable
    status = exc.status_code
    fallback = (
        _HttpProblem(code="internal_error", detail="服务器内部错误")
        if status >= 500
        else _HttpProblem(code="bad_request", detail="请求无法处理")
    )
    known = _HTTP_PROBLEMS.get(status, fallback)
    # A detail someone wrote in Chinese is kept; the framework's English phrases are not.
    detail = exc.detail if isinstance(exc.detail, str) and _CJK.search(exc.detail) else known.detail
    response = problem(status, known.code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    if status == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # A constraint caught what the services did not: a race or a duplicate. Never a 500.
    logger.warning("integrity error mapped to 409: %s", exc)
    return problem(409, "conflict", "操作与现有数据冲突，请刷新后重试")


# PostgreSQL's SQLSTATEs for a transaction that lost to another one: run again, it may pass.
RETRYABLE_SQLSTATES = {"40P01": "deadlock", "40001": "serialisation failure"}
# ...and for a statement that waited too long (lock_timeout, statement_timeout).
TIMEOUT_SQLSTATES = {"55P03": "lock timeout", "57014": "statement timeout"}
DATABASE_BUSY = ServiceUnavailable("数据库繁忙，请稍后重试", code="database_busy", retry_after=1)
DATABASE_UNAVAILABLE = ServiceUnavailable(
    "数据库暂时不可用，请稍后重试", code="database_unavailable"
)


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    # The database is up but this transaction lost a race or waited too long: 503 busy, and
    # app.retry runs a deadlock's or serialisation failure's request again (at most twice more).
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        logger.warning("%s: %s", RETRYABLE_SQLSTATES[sqlstate], getattr(exc, "orig", exc))
        mark_retryable(request.scope)
        return _answer(DATABASE_BUSY)
    if sqlstate in TIMEOUT_SQLSTATES:
        logger.warning("%s: %s", TIMEOUT_SQLSTATES[sqlstate], getattr(exc, "orig", exc))
        return _answer(DATABASE_BUSY)
    logger.exception("database unavailable", exc_info=exc)
    return _answer(DATABASE_UNAVAILABLE)


async def _pool_timeout(_: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed in use for pool_timeout (see app.db): fail fast.
    logger.warning("no database connection free: %s", exc)
    return _answer(DATABASE_BUSY)


async def _stale_object(_: Request, exc: Exception) -> JSONResponse:
    # A row changed or vanished under a write that did not lock it: a lost race, not a bug.
    logger.warning("stale object mapped to 409: %s", exc)
    return problem(409, "conflict", "数据已被其他操作修改或删除，请刷新后重试")


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "服务器内部错误")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(StaleDataError, _stale_object)
    app.add_exception_handler(ObjectDeletedError, _stale_object)
    app.add_exception_handler(Exception, _unexpected_error)
