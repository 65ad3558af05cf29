"""The chat widget's files (/widget.js, /widget.css) and /demo, a sample shop page that embeds
it with the service's first widget key (public by nature)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from cs_rag.service.console.render import STATIC, html
from cs_rag.service.state import Service

router = APIRouter(include_in_schema=False)

ASSET_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


@router.get("/widget.js")
def widget_script() -> Response:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8", headers=ASSET_HEADERS)


@router.get("/widget.css")
def widget_style() -> Response:
    return FileResponse(STATIC / "widget.css", media_type="text/css; charset=utf-8", headers=ASSET_HEADERS)


@router.get("/demo")
def demo(request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
    """The sample shop page; `lang=en` shows it (and so the widget) in English."""
    service: Service = request.app.state.service
    key = service.keys.widget[0] if service.keys.widget else ""
    usable = bool(key) or not service.keys.client_configured
    return html("demo.html", root=request.scope.get("root_path", ""), lang=lang, key=key, usable=usable,
                title="闪电优选 SparkMall")
