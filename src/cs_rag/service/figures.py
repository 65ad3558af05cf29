"""The team's figures and the knowledge health over the service's own stores: what
GET /v1/stats, GET /v1/knowledge/health and `cs-rag report --service-data` show."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.learning.answers import AnswerLog
from cs_rag.learning.entries import entry_categories
from cs_rag.learning.feedback import FeedbackStore
from cs_rag.learning.health import DUPLICATE_COSINE, KnowledgeHealth, knowledge_health
from cs_rag.learning.stats import Granularity, TeamFigures, team_figures
from cs_rag.service.reviews import ReviewStore


def service_figures(knowledge_base: KnowledgeBase | None, answers: AnswerLog, feedback: FeedbackStore,
                    reviews: ReviewStore, since: dt.datetime, until: dt.datetime,
                    granularity: Granularity = Granularity.DAY, tz: dt.tzinfo | None = None) -> TeamFigures:
    """The team's figures of [since, until), days in `tz`: categories from the live index (none
    without one), answers a reviewer rejected never resolved."""
    known = knowledge_base is not None and knowledge_base.exists
    return team_figures(answers, feedback, since=since, until=until, granularity=granularity, tz=tz,
                        category_of=entry_categories(knowledge_base) if known else None,
                        rejected={trace_id for trace_id, _ in reviews.rejected(since)})


def service_health(knowledge_base: KnowledgeBase, answers: AnswerLog, feedback: FeedbackStore,
                   reviews: ReviewStore, days: int = 30, *, limit: int = 50,
                   duplicate_cosine: float = DUPLICATE_COSINE, tz: dt.tzinfo | None = None) -> KnowledgeHealth:
    """The knowledge health over the last `days` days, review rejections counted by the entry
    the rejected answer cited first."""
    now = dt.datetime.now(dt.timezone.utc)
    rejections = Counter(first for _, first in reviews.rejected(now - dt.timedelta(days=days)) if first)
    return knowledge_health(knowledge_base, answers, feedback, days=days, rejections=rejections,
                            duplicate_cosine=duplicate_cosine, limit=limit, now=now, tz=tz)
