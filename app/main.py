"""The application factory: routers, error handlers, CORS and the offline API docs."""

import functools
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.config import get_settings
from app.db import get_read_session_factory
from app.deps import clean_query
from app.errors import install_error_handlers
from app.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware, page_csp
from app.retry import RetryTransactionMiddleware
from app.routers import (
    acceptance,
    audit,
    auth,
    bids,
    challenge_io,
    challenges,
    experts,
    funds,
    health,
    matching,
    midterm,
    milestones,
    notifications,
    objections,
    offerings,
    organizations,
    projects,
    reports,
    reviews,
    stats,
)
from app.services import match_sync

API_PREFIX = "/api/v1"
# Swagger UI's files ship inside the fastapi-offline wheel; intranets cannot reach a CDN.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

TAGS = [
    {"name": "auth", "description": "登录与当前用户"},
    {"name": "organizations", "description": "单位注册与审核"},
    {"name": "challenges", "description": "榜单：发榜、审核、发布、截止"},
    {"name": "capabilities", "description": "高校院所的科研能力"},
    {"name": "results", "description": "高校院所的科技成果"},
    {"name": "bids", "description": "揭榜申报与授榜"},
    {"name": "reviews", "description": "专家评审：专家、指派与回避、评审指标、评分与排名"},
    {"name": "projects", "description": "授榜后的项目：任务书签署、进展与验收"},
    {"name": "objections", "description": "公示期异议与科技局处理"},
    {"name": "matching", "description": "匹配：榜单与能力、成果、单位的双向推荐"},
    {"name": "notifications", "description": "通知与近期到期事项"},
    {"name": "statistics", "description": "统计：年度目标、汇总、期间报表与县区排名"},
    {"name": "audit", "description": "审计日志"},
    {"name": "health", "description": "运行状态"},
]


def operation_id(route: APIRoute) -> str:
    """The route function's name in lowerCamelCase (`award_bid` → `awardBid`): a client method."""
    first, *rest = route.name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # In the background: uvicorn serves at once, and /readyz says 503 until the index is loaded.
    if get_settings().match_warmup:
        threading.Thread(
            target=match_sync.warm_up, args=(get_read_session_factory(),), daemon=True
        ).start()
    freeze_startup_objects()
    yield


@functools.cache
def freeze_startup_objects() -> None:
    """Once per process: what is loaded by now (modules, classes, schemas: ~200k objects)
    lives as long as the process; out of the collector's sight, a full collection walks only
    what requests made. A year's report workbook spent ~220 ms of its time in collections,
    ~55 ms after this (docs/performance.md)."""
    gc.collect()  # garbage is collected first, not kept for ever
    gc.freeze()


def create_app() -> FastAPI:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = FastAPI(
        title="揭榜挂帅 API",
        version="1.0.0",
        description="企业发榜、高校院所揭榜、科技局授榜与项目跟踪。",
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    # Added first, so it runs innermost: middlewares added later (CORS, body limits) see one
    # request and one answer however many times it runs.
    app.add_middleware(RetryTransactionMiddleware)
    # Inside CORS, so that a browser can read the 413.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(SecurityHeadersMiddleware, no_store_prefix=API_PREFIX + "/")

    # Every route's query string is checked once, here, before its own parameters.
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(clean_query)])
    for router in (
        auth.router,
        organizations.router,
        challenge_io.router,  # before challenges: /challenges/export is not an id
        challenges.router,
        offerings.capabilities,
        offerings.results,
        bids.router,
        experts.router,
        reviews.router,
        projects.router,
        milestones.router,
        funds.router,
        midterm.router,
        notifications.router,
        objections.router,
        acceptance.router,
        audit.router,
        matching.router,
        reports.router,
        stats.router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    _mount_docs(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="揭榜挂帅 API 文档",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )
        return _with_page_csp(page)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return _with_page_csp(get_swagger_ui_oauth2_redirect_html())


def _with_page_csp(page: HTMLResponse) -> HTMLResponse:
    # The docs pages run Swagger UI's inline start-up script, which the API's policy forbids.
    page.headers["Content-Security-Policy"] = page_csp(bytes(page.body).decode())
    return page


app = create_app()
