"""What a reviewer's decision does: the rules of the review queue and of saving a reviewed
answer as knowledge, free of HTTP (the route turns ReviewDecisionError into a 422)."""

from __future__ import annotations

from cs_rag.answering.assistant import Assistant
from cs_rag.errors import ReviewDecisionError
from cs_rag.service.reviews import Review, ReviewStatus, SavedAs
from cs_rag.types import DocumentKind, FaqEntry, Outcome

DECIDED_STATUS = {"approve": ReviewStatus.APPROVED, "edit": ReviewStatus.EDITED,
                  "reject": ReviewStatus.REJECTED}


def check_decision(review: Review, action: str, text: str | None, save_as: SavedAs | None) -> None:
    """Raise ReviewDecisionError unless `action` ("approve", "edit" or "reject") with `text` and
    `save_as` is a decision this review may take."""
    if action == "edit" and text is None:
        raise ReviewDecisionError("text", "missing", "an edit needs the corrected text")
    if action == "reject" and save_as is not None:
        raise ReviewDecisionError("save_as", "value_error", "a rejected answer cannot be saved")
    if save_as in (SavedAs.FAQ_ANSWER, SavedAs.ENTRY_ANSWER) and action == "approve" and \
            review.answer.outcome is not Outcome.ANSWERED:
        raise ReviewDecisionError("save_as", "value_error", f"the draft is a {review.answer.outcome.value} "
                                  "reply, not an answer: edit it to save it as an FAQ answer")


def final_text(review: Review, action: str, text: str | None) -> str | None:
    """The reply as decided: None when rejected, else the edit or the draft."""
    return None if action == "reject" else (text or review.answer.text)


def entry_target(review: Review, faq_id: str | None) -> str:
    """The FAQ entry a `similar_question` or `entry_answer` save teaches: `faq_id`, else the
    first FAQ entry the answer cites."""
    target_id = faq_id or next((c.doc_id for c in review.answer.citations if c.kind is DocumentKind.FAQ), None)
    if target_id is None:
        raise ReviewDecisionError("faq_id", "missing", "the answer cites no FAQ entry; name one in faq_id")
    return target_id


def new_faq_entry(assistant: Assistant, review: Review, text: str, question: str | None,
                  category: str | None) -> FaqEntry:
    """A `faq_answer` save: the question (default: the standalone question) answered with the
    final text, without the greeting and closing lines every answer gets anyway."""
    return FaqEntry(id=f"review-{review.id}", question=question or _standalone(review),
                    answer=_without_greetings(assistant, review, text), category=category, tags=["reviewed"])


def taught_question(review: Review, question: str | None) -> str:
    """The phrasing a `similar_question` save teaches: `question`, else the standalone question."""
    return question or _standalone(review)


def current_answer(assistant: Assistant, target_id: str) -> str:
    """The answer FAQ entry `target_id` has in the live index, which a `similar_question` or
    `entry_answer` save needs to exist; ReviewDecisionError otherwise."""
    target = next((c for c in assistant.knowledge_base.document_chunks(target_id)
                   if c.id == target_id and c.kind is DocumentKind.FAQ), None)
    if target is None or not target.text:
        raise ReviewDecisionError("faq_id", "value_error", f"no FAQ entry {target_id!r} with an answer in the index")
    return target.text


def answer_body(assistant: Assistant, review: Review, text: str) -> str:
    """An `entry_answer` save's new answer: the final text without the greeting and closing
    lines every answer gets anyway."""
    return _without_greetings(assistant, review, text)


def _standalone(review: Review) -> str:
    return review.answer.trace.get("rewrite", {}).get("question") or review.answer.question


def _without_greetings(assistant: Assistant, review: Review, text: str) -> str:
    phrases = assistant.prompts.phrases(review.answer.language)
    body = text.strip()
    opening, closing = phrases.opening.strip(), phrases.closing_for(review.customer).strip()
    if opening and body.startswith(opening) and len(body) > len(opening):
        body = body[len(opening):].strip()
    if closing and body.endswith(closing) and len(body) > len(closing):
        body = body[:-len(closing)].strip()
    return body
