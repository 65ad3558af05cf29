"""The settings page (read only): the effective configuration by section, the models, the
live index's statistics and which kinds of keys are configured (never the keys)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cs_rag import __version__
from cs_rag.models.tuning import TunedLayers
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/settings")
def settings(request: Request, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    sections = {name: {key: _shown(value) for key, value in values.items()}
                for name, values in service.settings.model_dump(mode="json").items()}
    index = None
    if service.knowledge_base.exists:
        live = service.knowledge_base.index()
        index = {"version": service.version(), "documents": len(live.manifest.documents), "chunks": len(live),
                 "embedding_model": getattr(live.manifest, "embedding_model", None),
                 "fine_tune": fine_tune_text(service.knowledge_base.retriever().embedder.tuned_layers),
                 "created": getattr(live.manifest, "created", None)}
    keys = service.keys
    return page(operator, "settings.html", "settings", "设置 · Settings", sections=sections,
                index=index, version=__version__, jobs=service.jobs.counts(),
                keys={"client": keys.client_configured, "admin": keys.admin_configured,
                      "widget": bool(keys.widget)})


def fine_tune_text(layers: TunedLayers | None) -> str:
    """What the page says of the live index's fine-tune of the embedding model."""
    if layers is None:
        return "未微调 · not fine-tuned"
    return (f"已微调 · fine-tuned on {len(layers.groups)} FAQ entries in {layers.seconds:.0f} s "
            f"(weights {layers.digest})")


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
