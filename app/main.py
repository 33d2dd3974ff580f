"""The application factory: routers, error handlers, CORS and the offline API docs."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.config import get_settings
from app.db import get_read_session_factory
from app.errors import install_error_handlers
from app.routers import (
    audit,
    auth,
    bids,
    challenges,
    health,
    matching,
    offerings,
    organizations,
    projects,
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
    {"name": "projects", "description": "授榜后的项目"},
    {"name": "matching", "description": "匹配：榜单与能力、成果、单位的双向推荐"},
    {"name": "audit", "description": "审计日志"},
    {"name": "health", "description": "运行状态"},
]


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if get_settings().match_warmup:
        threading.Thread(
            target=match_sync.warm_up, args=(get_read_session_factory(),), daemon=True
        ).start()
    yield


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
    )
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth.router,
        organizations.router,
        challenges.router,
        offerings.capabilities,
        offerings.results,
        bids.router,
        projects.router,
        audit.router,
        matching.router,
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
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="揭榜挂帅 API 文档",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


app = create_app()
