"""Several knowledge bases in one service (tenants): each with its own index, knowledge, settings
(prompts, guard lexicons, thresholds, company) and state, and the keys scoped to it."""

from __future__ import annotations

from pathlib import Path

from cs_rag.config import Settings, load_settings
from cs_rag.errors import ConfigError
from cs_rag.service.auth import ADMIN_KEYS_ENV, API_KEYS_ENV, WIDGET_KEYS_ENV, ApiKeys
from cs_rag.service.state import Service

KB_PREFIX = "/kb"   # a knowledge base's routes: /kb/<name>/v1/answer, /kb/<name>/console, ...


def knowledge_base_services(settings: Settings, keys: ApiKeys) -> dict[str, Service]:
    """A Service per `[knowledge_bases.<name>]`, in the file's order, each with the keys that
    serve it. ConfigError when none is configured or a key is scoped to an unknown name. The
    service-wide `[service]` settings (limits, origins, console) come from `settings`; a
    knowledge base's own config file gives everything else it answers with."""
    entries = settings.knowledge_bases
    if not entries:
        raise ConfigError("knowledge_bases", "cs-rag serve needs --index or at least one "
                          "[knowledge_bases.<name>] table with an index")
    unknown = sorted(keys.scopes() - set(entries))
    if unknown:
        raise ConfigError(f"{API_KEYS_ENV} / {ADMIN_KEYS_ENV} / {WIDGET_KEYS_ENV}",
                          f"keys scoped to unknown knowledge bases: {', '.join(unknown)} "
                          f"(configured: {', '.join(entries)})")
    services: dict[str, Service] = {}
    try:
        for name, entry in entries.items():
            own = load_settings(entry.config) if entry.config else settings
            own = own.model_copy(update={"service": settings.service, "knowledge_bases": {}})
            index_dir = Path(entry.index)
            data_dir = Path(entry.data_dir or f"{index_dir}.service")
            services[name] = Service(index_dir, [Path(p) for p in entry.knowledge], own, data_dir,
                                     keys.for_knowledge_base(name), None)
    except BaseException:
        for service in services.values():
            service.close()
        raise
    return services
