"""The hit test (命中测试): a question's ranked hits with per-retriever scores, the confidence,
the decision and the reply the bot would send. Nothing is logged or queued: it is a test."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

HITS = 10


@router.get("/hittest")
def hit_test(request: Request, operator: OperatorDep,
             q: Annotated[str, Query(max_length=2000)] = "") -> Response:
    service: Service = request.app.state.service
    context = {"question": q, "max_chars": service.limits.max_question_chars, "result": None}
    error = None
    if q.strip() and len(q) > service.limits.max_question_chars:
        error = f"问题太长（最多 {service.limits.max_question_chars} 字）· The question is too long"
    elif q.strip() and not service.knowledge_base.exists:
        error = "索引正在建立 · The index is being built"
    elif q.strip():
        result = service.assistant.answer(q)
        rewrite = result.trace.get("rewrite", {}).get("question") or q
        retrieval = service.knowledge_base.retrieve(rewrite, k=HITS)
        context.update(result=result, rewrite=rewrite, retrieval=retrieval, hits=retrieval.hits)
    return page(operator, "hittest.html", "hittest", "命中测试 · Hit test", error=error, **context)
