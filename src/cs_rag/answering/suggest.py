"""Replies a human agent may send: the best hits from distinct documents, as an FAQ answer
verbatim or the sentences of a passage that answer the customer's last message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from cs_rag.answering.assistant import Assistant
from cs_rag.answering.extractive import extract_answer
from cs_rag.answering.rewrite import rewrite_followup
from cs_rag.index.base import SearchFilter
from cs_rag.retrieval.hybrid import distinct_documents
from cs_rag.types import Citation, Flag, Turn


class Suggestion(BaseModel):
    """A reply a human agent may send: an FAQ answer verbatim, or sentences from a passage."""

    text: str
    citation: Citation
    confidence: float | None = None


@dataclass(frozen=True)
class Suggestions:
    """What `suggest_replies` found for one customer message."""

    question: str                 # the customer's message, personal data masked
    search_query: str             # what was searched (the follow-up rewritten, if it was)
    suggestions: list[Suggestion]
    flags: list[Flag]             # what the guard found in the customer's message
    suggested_script: str | None


def suggest_replies(assistant: Assistant, question: str, history: list[Turn], k: int,
                    where: SearchFilter | None = None) -> Suggestions:
    """Up to `k` replies for `question` (after `history`), each from a different document.

    The message is guarded (personal data masked, flags raised) and a follow-up is rewritten
    to a standalone question before retrieval, as `Assistant.answer` does; no answer is
    written and nothing is routed."""
    message = assistant.guard.check_message(question)
    rewrite = rewrite_followup(message.masked_text, history)
    knowledge_base = assistant.knowledge_base
    retrieval = knowledge_base.retrieve(rewrite.question, k=max(10, k * 3), where=where, read_evidence=False)
    retriever = knowledge_base.retriever()
    tokens = retriever.tokenizer.tokenize(rewrite.question)
    suggestions: list[Suggestion] = []
    for hit in distinct_documents(retrieval.hits, len(retrieval.hits)):
        extract = extract_answer(tokens, [hit], lambda t: retriever.index.keyword_ceiling([t]))
        if extract is None:
            continue
        text = re.sub(r"\[1\]", "", extract.text).strip()
        suggestions.append(Suggestion(text=text, citation=Citation.from_hit(len(suggestions) + 1, hit),
                                      confidence=None if hit.confidence is None
                                      else round(hit.confidence, 4)))
        if len(suggestions) == k:
            break
    return Suggestions(question=message.masked_text, search_query=rewrite.question,
                       suggestions=suggestions, flags=message.flags,
                       suggested_script=message.suggested_script)
