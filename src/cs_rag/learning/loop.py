"""LearningLoop: feedback and the learning queue for one knowledge base, in a state database.

What a helpdesk backend with its own UI uses, and what the HTTP service serves:

    loop = LearningLoop(SqliteState(Path("loop.db")), knowledge_base, Path("learned/learned.jsonl"))
    answer = assistant.answer(question)
    loop.remember(answer, session_id)                    # every answer given
    loop.record_feedback(answer.trace_id, helpful=False, reason=FeedbackReason.WRONG)
    for group in loop.groups(): ...                      # what the bot could not serve
    loop.link(group.id, "faq-refund-001", given_by="ops:li")
    knowledge_base.ingest([*team_folders, Path("learned")])   # the learned file's folder too

Every action is applied to the learned-knowledge file (cs_rag.learning.knowledge); the next
ingest that includes that file's folder makes it searchable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cs_rag.edits import FileEditor
from cs_rag.errors import UnknownEntryError
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.learning.feedback import Feedback, FeedbackReason, FeedbackStore
from cs_rag.learning.knowledge import LearnedKnowledge
from cs_rag.learning.queue import (
    ActionKind,
    Candidate,
    ItemReason,
    LearningAction,
    LearningGroup,
    LearningItems,
)
from cs_rag.state import StateDatabase
from cs_rag.types import DECLINED_TAG, Answer, DocumentKind, Outcome

CANDIDATES = 3
REVIEW_STATUSES = {"rejected": ItemReason.REVIEW_REJECTED, "edited": ItemReason.REVIEW_EDITED}


class LearningLoop:
    """Answers, feedback, the learning queue and the learned knowledge of one knowledge base."""

    def __init__(self, database: StateDatabase, knowledge_base: KnowledgeBase, learned_file: Path, *,
                 editor: FileEditor | None = None, clock: Callable[[], float] = time.time) -> None:
        self.knowledge_base = knowledge_base
        self.answers = AnswerLog(database, clock)
        self.feedback = FeedbackStore(database, self.answers, clock)
        self.learned = LearnedKnowledge(learned_file, editor)
        self.items = LearningItems(database, self.answers, self._embed, self._candidates, clock=clock)

    # ---- what happened -------------------------------------------------------------------

    def remember(self, answer: Answer, session_id: str | None = None) -> AnswerRecord:
        """Keep an answer; one the bot could not serve joins the learning queue."""
        record = self.answers.remember(answer, session_id)
        reason = self._unserved(answer)
        if reason is not None:
            self.items.add(record, reason)
        chosen = answer.trace.get("chosen_option")
        if chosen and session_id:   # the choice served the clarify reply, and says what it meant
            clarified = self.answers.latest_clarify(session_id)
            if clarified is not None and clarified.picked:
                self.items.withdraw(clarified.trace_id, ItemReason.CLARIFIED)
                entry = answer.citations[0].doc_id if answer.citations else chosen
                self.items.add(clarified, ItemReason.PICKED, suggested=entry)
        return record

    def record_feedback(self, answer_id: str, helpful: bool, reason: FeedbackReason | None = None,
                        comment: str | None = None, given_by: str = "-") -> tuple[Feedback, bool]:
        """Store a rating (see FeedbackStore.record); a dislike joins the learning queue, a
        later like withdraws it."""
        feedback, created = self.feedback.record(answer_id, helpful, reason, comment, given_by)
        if helpful:
            self.items.withdraw(answer_id, ItemReason.DISLIKED)
        else:
            self.items.add(self.answers.get(answer_id), ItemReason.DISLIKED)   # record() checked it exists
        return feedback, created

    def review_decided(self, trace_id: str, status: str) -> None:
        """A review rejected or edited: its question joins the learning queue."""
        record = self.answers.get(trace_id) if status in REVIEW_STATUSES else None
        if record is not None:
            self.items.add(record, REVIEW_STATUSES[status])

    def _unserved(self, answer: Answer) -> ItemReason | None:
        if "declined" in answer.trace:   # refused as the team decided: nothing left to learn
            return None
        if answer.outcome is Outcome.REFUSED:
            return ItemReason.REFUSED
        if answer.outcome is Outcome.CLARIFY:
            return ItemReason.CLARIFIED
        wanting = answer.confidence < self.knowledge_base.settings.retrieval.answer_confidence
        if answer.outcome is Outcome.HANDOFF and wanting and "retrieval" in answer.trace:
            return ItemReason.HANDED_OFF
        return None

    # ---- the queue -----------------------------------------------------------------------

    def groups(self, limit: int | None = None, offset: int = 0, candidates: bool = True) -> list[LearningGroup]:
        """What the bot could not serve, grouped by meaning, largest group first (`limit` from
        `offset`); without `candidates`, no search for each group's nearest entries."""
        return self.items.groups(limit, offset, candidates)

    def link(self, group_id: str, entry_id: str, given_by: str,
             wordings: list[str] | None = None) -> LearningAction:
        """The group's wordings (or only `wordings` of them; the others stay open) become similar
        questions of FAQ entry `entry_id`."""
        self._require_entry(entry_id)
        group = self.items.group(group_id).only(wordings)
        wordings = [w.text for w in group.wordings]
        return self.items.act(group, ActionKind.LINK, entry_id, {"wordings": wordings}, given_by,
                              lambda action: self.learned.extend(action, entry_id, wordings))

    def create(self, group_id: str, question: str, answer: str, category: str | None,
               given_by: str, wordings: list[str] | None = None) -> LearningAction:
        """A new FAQ entry answering the group; its wordings become the entry's similar questions.
        ValueError naming the field for an empty question or answer."""
        for field, value in (("question", question), ("answer", answer)):
            if not value or not value.strip():
                raise ValueError(f"{field}: a new entry needs a non-empty {field}")
        group = self.items.group(group_id).only(wordings)
        wordings = [w.text for w in group.wordings]
        detail = {"question": question.strip(), "answer": answer.strip(), "category": category, "wordings": wordings}
        return self.items.act(group, ActionKind.CREATE, None, detail, given_by,
                              lambda action: self.learned.create(action, question.strip(), answer.strip(),
                                                                 category, wordings))

    def ignore(self, group_id: str, reason: str, given_by: str,
               wordings: list[str] | None = None) -> LearningAction:
        """Close the group (or its `wordings`) without teaching anything; ValueError for an
        empty reason."""
        if not reason or not reason.strip():
            raise ValueError("reason: say why the group is ignored")
        group = self.items.group(group_id).only(wordings)
        return self.items.act(group, ActionKind.IGNORE, None, {"reason": reason.strip(),
                              "wordings": [w.text for w in group.wordings]}, given_by, lambda _action: None)

    def decline(self, group_id: str, reason: str, given_by: str,
                wordings: list[str] | None = None) -> LearningAction:
        """The group's wordings (or `wordings` of them) must not be answered: they become a
        retrieval-only FAQ entry tagged `declined`, so after the ingest a question matching them
        best is refused instead of answered from a neighbouring entry (see Assistant); ValueError
        for an empty reason."""
        if not reason or not reason.strip():
            raise ValueError("reason: say why these questions are not answered")
        group = self.items.group(group_id).only(wordings)
        wordings = [w.text for w in group.wordings]
        detail = {"reason": reason.strip(), "wordings": wordings}
        return self.items.act(group, ActionKind.DECLINE, None, detail, given_by,
                              lambda action: self.learned.create(action, wordings[0], None, None, wordings,
                                                                 tags=("learned", DECLINED_TAG)))

    def undo(self, group_id: str, action_id: int, given_by: str) -> LearningAction:
        """Reverse an action: its items reopen and what it wrote is removed."""
        return self.items.undo(group_id, action_id, given_by,
                               lambda: self.learned.remove_action(action_id))

    def rollback(self, action: LearningAction) -> None:
        """Undo `action` because the ingest applying it failed: nothing stays half-applied."""
        self.undo(action.group_id, action.id, "system:failed-ingest")

    def teach(self, entry_id: str, given_by: str, origin: str, *, similar_questions: list[str] | None = None,
              answer: str | None = None, old_answer: str | None = None) -> LearningAction:
        """Outside the queue (a review's save): add phrasings to, or replace the answer of, an
        FAQ entry; audited under the group name `origin`, the old answer kept in the audit."""
        self._require_entry(entry_id)
        detail = {"wordings": similar_questions or [], "answer": answer, "old_answer": old_answer}
        group = LearningGroup(id=origin, count=0, wordings=[], sources={}, candidates=[], members={})
        return self.items.act(group, ActionKind.LINK, entry_id, detail, given_by,
                              lambda action: self.learned.extend(action, entry_id, similar_questions, answer))

    def _require_entry(self, entry_id: str) -> None:
        chunks = self.knowledge_base.document_chunks(entry_id)
        if not any(c.kind is DocumentKind.FAQ for c in chunks):
            raise UnknownEntryError(f"no FAQ entry {entry_id!r} in the live index")

    def _embed(self, text: str):
        return self.knowledge_base.retriever().embedder.encode_query(text)   # cached: just searched

    def _candidates(self, question: str) -> list[Candidate]:
        """The CANDIDATES FAQ entries of `question`'s top hits with the best scores (calibrated
        confidence, which need not fall with the rank), best first."""
        seen: dict[str, Candidate] = {}
        for hit in self.knowledge_base.search(question, k=10):
            if hit.kind is DocumentKind.FAQ and hit.doc_id not in seen:
                score = hit.confidence if hit.confidence is not None else hit.score
                seen[hit.doc_id] = Candidate(id=hit.doc_id, question=hit.question or hit.doc_id, score=round(score, 4))
        return sorted(seen.values(), key=lambda candidate: -candidate.score)[:CANDIDATES]
