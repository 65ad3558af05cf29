"""How console, widget and demo pages are rendered: Jinja2 templates (every value escaped), the
security headers (a Content-Security-Policy allowing only this origin's scripts and styles)
and the console's navigation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse

from cs_rag.extras import require

if TYPE_CHECKING:
    from cs_rag.service.console.signin import Operator

HERE = Path(__file__).parent
STATIC = HERE / "static"

# No inline script or style anywhere: whatever a page shows cannot run.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}

# (test id, path, Chinese, English)
NAV = [("dashboard", "/console", "概览", "Dashboard"),
       ("conversations", "/console/conversations", "对话记录", "Conversations"),
       ("reviews", "/console/reviews", "审核队列", "Review queue"),
       ("learning", "/console/learning", "学习队列", "Learning queue"),
       ("qa", "/console/qa", "质检", "Quality"),
       ("knowledge", "/console/knowledge", "知识库", "Knowledge"),
       ("hittest", "/console/hittest", "命中测试", "Hit test"),
       ("settings", "/console/settings", "设置", "Settings")]

_environment = None


def environment():
    """The template environment (autoescape on for every template), built on first use."""
    global _environment
    if _environment is None:
        jinja2 = require("jinja2", "server", "the console")
        _environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                          autoescape=True, trim_blocks=True, lstrip_blocks=True)
        _environment.filters["percent"] = percent
        _environment.filters["number"] = number
    return _environment


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def html(template: str, status: int = 200, root: str = "", **context: Any) -> HTMLResponse:
    """A page; `root` prefixes its links: "/kb/<name>" for a knowledge base served under that
    prefix (service/tenants.py), "" at the routes' own paths."""
    body = environment().get_template(template).render(root=root, **context)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def page(operator: Operator, template: str, active: str, title: str,
         status: int = 200, **context: Any) -> HTMLResponse:
    """A console page inside the shell (navigation, the knowledge-base switcher, sign-out form
    with the CSRF token)."""
    return html(template, status, operator.root, nav=NAV, active=active, title=title, operator=operator,
                csrf=operator.csrf, knowledge_bases=operator.knowledge_bases, **context)


def sign_in_page(next_path: str, error: str | None = None, status: int = 200, root: str = "") -> HTMLResponse:
    return html("signin.html", status, root, title="登录 · Sign in", next_path=next_path, error=error)
