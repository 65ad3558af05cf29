"""Operations: liveness and readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from cs_rag.service.deps import ServiceDep
from cs_rag.service.responses import json_response
from cs_rag.service.schemas import Health, error_responses

router = APIRouter(tags=["operations"])


# ---- operations -------------------------------------------------------------------------

@router.get("/healthz", response_model=Health, responses=error_responses(503))
def healthz(service: ServiceDep) -> Response:
    """Liveness (always 200 while the process serves) and readiness (`ready`)."""
    ready = service.ready
    health = Health(ready=ready, jobs=service.jobs.counts())
    if ready:
        index = service.knowledge_base.index()
        health.documents, health.chunks = len(index.manifest.documents), len(index)
        health.index_version = service.version()
    return json_response(health)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                       **error_responses(503)})
def metrics(service: ServiceDep) -> Response:
    """Prometheus text format: requests by route and status, latency histogram, answers by
    outcome and routing, flags by kind, ingest jobs, sessions, pending reviews."""
    return Response(service.metrics.render(service.gauges()),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


