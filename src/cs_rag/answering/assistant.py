"""answer(question, history, customer) -> Answer: the one call the helpdesk, CLI and service use.

Stages, each timed in the answer's trace: the guard reads the customer's message (personal
data is masked before anything else sees it); an elliptical follow-up is rewritten from the
history; retrieval decides answer / clarify / none with a calibrated confidence; an answer is
written by the configured LLM (only above `llm.min_confidence`) or by the embedded extractive
default; the guard checks the draft against its evidence; the strictest routing wins.

Outcome rules: the guard asking for a person (the customer asked, threatened escalation, is
very angry, or grew more upset turn after turn) gives `handoff`; a suggestion is `noted`
(thanked, logged for the product team), unless retrieval is sure the knowledge answers it
(SUGGESTION_ANSWER_CONFIDENCE); otherwise retrieval's decision gives `answered`, `clarify` or
`refused`. A hit with no answer text (a retrieval-only FAQ entry) is never sent, cited or
offered as a clarify option: when it is the best, the next hit answers only if more likely
right than wrong (never for a declined entry), else the reply is a refusal. An LLM failure
never loses the question: the extractive default answers and an `llm_error` flag sends the
reply to review.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from cs_rag.answering.extractive import extract_answer
from cs_rag.answering.guard_encoder import GuardEncoder
from cs_rag.answering.llm.openai_compatible import ChatModel, chat_model_from
from cs_rag.answering.phrases import Phrases
from cs_rag.answering.prompt import (
    PromptLibrary,
    evidence_text,
    fit_answer_prompt,
    format_customer,
)
from cs_rag.answering.rewrite import Rewrite, previous_question, rewrite_followup
from cs_rag.answering.smalltalk import small_talk
from cs_rag.answering.verify import check_evidence
from cs_rag.config import Settings
from cs_rag.errors import InputError, LLMError, UnknownEntryError
from cs_rag.guard import Guard, GuardResult
from cs_rag.index.base import SearchFilter
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.retrieval.hybrid import distinct_documents
from cs_rag.text import detect_language
from cs_rag.types import (
    DECLINED_TAG,
    Answer,
    Citation,
    Customer,
    Decision,
    Flag,
    FlagKind,
    Hit,
    Outcome,
    QuestionType,
    Retrieval,
    Routing,
    Turn,
)

_MARKER = re.compile(r"\[(\d{1,2})\]")
MAX_QUESTION_CHARS = 2000
TRACE_HITS = 5
# When the best hit has no answer text, another hit answers in its place only if this likely
# right as well as above the answer threshold (which a knowledge base may configure low, see
# retrieval.answer_precision): a stand-in for an entry that matched but cannot answer must be
# more likely right than wrong.
STAND_IN_CONFIDENCE = 0.5
# A message read as a suggestion is answered when retrieval is at least this sure: 2% of the 409
# suggestions of training/emotion reach it against knowledge/, while the questions put as wishes
# that the knowledge answers (能不能直接塞快递柜) do.
SUGGESTION_ANSWER_CONFIDENCE = 0.9
_UNSET = object()


class Assistant:
    """Answers questions from one knowledge base. Thread-safe for concurrent `answer` calls."""

    def __init__(self, knowledge_base: KnowledgeBase, *, prompts: PromptLibrary | None = None,
                 guard: Guard | None = None, chat_model: ChatModel | None | object = _UNSET) -> None:
        self.knowledge_base = knowledge_base
        self.settings: Settings = knowledge_base.settings
        self.prompts = prompts or PromptLibrary(self.settings.answer.prompts_dir, self.settings.company)
        self.guard = guard or Guard(self.settings.guard, prompts_dir=self.prompts.directory,
                                   encoder=GuardEncoder(knowledge_base),
                                   public_contacts=self.settings.company.contacts())
        self.chat_model: ChatModel | None = (chat_model_from(self.settings.llm)
                                             if chat_model is _UNSET else chat_model)  # type: ignore[assignment]

    @classmethod
    def open(cls, index_dir: str | Path, settings: Settings | None = None) -> Assistant:
        return cls(KnowledgeBase(index_dir, settings))

    def answer(self, question: str, history: list[Turn] | None = None,
               customer: Customer | None = None, where: SearchFilter | None = None) -> Answer:
        """The reply to `question`, given the conversation so far and what is known of the
        customer; `where` limits the knowledge searched (e.g. the product the customer is viewing)."""
        return _final(self._run(question, history, customer, where, streaming=False))

    def choose(self, option_id: str, question: str, history: list[Turn] | None = None,
               customer: Customer | None = None) -> Answer:
        """The reply when the customer picks an option a clarify reply offered: the entry
        `option_id` (an `Answer.options[i].id`) answers, as if retrieval had found it sure;
        `question` is what the customer picked or typed (e.g. the option's title). The message
        is still guarded and the answer checked. UnknownEntryError when the live index has no
        such entry with text (e.g. it was removed since it was offered)."""
        return _final(self._run(question, history, customer, None, streaming=False,
                                chosen=self._chosen_hit(option_id)))

    def stream(self, question: str, history: list[Turn] | None = None,
               customer: Customer | None = None,
               where: SearchFilter | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are written, then the final Answer (whose `routing` says
        whether the text may be shown: a reply routed to review was streamed to no customer
        if the caller holds it back)."""
        yield from self._run(question, history, customer, where, streaming=True)

    # ---- the stages -------------------------------------------------------------------

    def _run(self, question: str, history: list[Turn] | None, customer: Customer | None,
             where: SearchFilter | None, streaming: bool, chosen: Hit | None = None) -> Iterator[str | Answer]:
        started = time.perf_counter()
        question = _checked_question(question)
        turns = list(history or [])[-self.settings.answer.history_turns:] \
            if self.settings.answer.history_turns else []
        timings: dict[str, float] = {}
        trace: dict = {"trace_id": uuid.uuid4().hex, "timings_ms": timings}

        clock = time.perf_counter()
        message = self.guard.check_message(question, earlier=[t.content for t in turns if t.role == "user"])
        safe_question = message.masked_text
        language = _reply_language(safe_question, turns)
        phrases = self.prompts.phrases(language)
        timings["guard_message"] = _ms(clock)

        courtesy = None if message.routing is Routing.HANDOFF or chosen else small_talk(safe_question)
        suggestion = (message.question_type is QuestionType.SUGGESTION and courtesy is None
                      and message.routing is not Routing.HANDOFF and chosen is None)
        if chosen is not None:  # the customer picked an offered option: it answers
            trace["chosen_option"] = chosen.id
            rewrite = Rewrite(original=safe_question, question=safe_question)
            retrieval = Retrieval(query=safe_question, hits=[chosen], confidence=1.0, decision=Decision.ANSWER)
        elif courtesy is not None:  # nothing to look up
            trace["small_talk"] = courtesy.value
            rewrite = Rewrite(original=safe_question, question=safe_question)
            retrieval = Retrieval(query=safe_question, hits=[])
        else:
            clock = time.perf_counter()
            rewrite = self._rewrite(safe_question, turns, language, trace)
            timings["rewrite"] = _ms(clock)

            clock = time.perf_counter()
            # unread: a hand-off (its citations are for the person taking over) and a follow-up
            # the rules merged, which the evidence reader was never taught to read
            retrieval = self._retrieve(rewrite, turns, where, trace, read_evidence=not (
                message.routing is Routing.HANDOFF or rewrite.merged_by_rules))
            timings["retrieve"] = _ms(clock)
            for stage, ms in retrieval.timings_ms.items():
                timings[f"retrieve.{stage}"] = ms
        # a suggestion goes to the product team, unless the knowledge answers it for sure (then
        # it was a question put as a wish: 能不能直接塞快递柜)
        noted = suggestion and not (retrieval.decision is Decision.ANSWER
                                    and retrieval.confidence >= SUGGESTION_ANSWER_CONFIDENCE)
        trace["retrieval"] = _retrieval_trace(retrieval)
        if retrieval.decision is Decision.ANSWER:
            retrieval = self._answerable(retrieval, trace)
        if retrieval.decision is Decision.ANSWER and chosen is None:
            retrieval = self._verified(rewrite.question, retrieval, language, trace)
        elif retrieval.decision is Decision.CLARIFY:
            retrieval = self._answerable_options(retrieval, trace)
        if message.suggested_script:
            trace["suggested_script"] = message.suggested_script

        flags: list[Flag] = list(message.flags)
        citations: list[Citation] = []
        options: list[Citation] = []
        generator = "fixed"
        if message.routing is Routing.HANDOFF:
            outcome = Outcome.HANDOFF
            text = _join(language, phrases.handoff, phrases.level_line(customer))
            # what the knowledge says, for the person taking over, only when retrieval is sure
            citations = ([Citation.from_hit(i, hit) for i, hit in enumerate(retrieval.hits[:3], start=1)]
                         if retrieval.decision is Decision.ANSWER else [])
            trace["handoff_summary"] = self._handoff_summary(safe_question, turns, customer, message,
                                                             language, phrases)
        elif courtesy is not None:
            outcome = Outcome.SMALLTALK
            text = phrases.small_talk_reply(courtesy)
        elif noted:  # a suggestion goes to the product team (the question log), not to an FAQ
            outcome = Outcome.NOTED
            text = phrases.suggestion_reply
        elif retrieval.decision is Decision.ANSWER:
            outcome = Outcome.ANSWERED
            body, text, citations, generator, answer_flags = yield from self._write(
                rewrite.question, retrieval, turns, customer, language, phrases, streaming,
                timings, trace)
            flags.extend(answer_flags)
            clock = time.perf_counter()
            evidence = [hit.text for hit in retrieval.hits if hit.id in {c.id for c in citations}]
            checked = self.guard.check_answer(body, evidence)
            timings["guard_answer"] = _ms(clock)
            flags.extend(checked.flags)
        elif retrieval.decision is Decision.CLARIFY:
            outcome = Outcome.CLARIFY
            options = [Citation.from_hit(i, hit) for i, hit in enumerate(retrieval.options, start=1)]
            text = self._clarify_text(rewrite.question, options, language, phrases, trace)
        else:
            outcome = Outcome.REFUSED
            text = _join(language, phrases.refusal, phrases.level_line(customer))

        if outcome is not Outcome.ANSWERED:
            yield text
        routing = Routing.strictest([message.routing, *(f.routing for f in flags)])
        if outcome is Outcome.HANDOFF:
            routing = Routing.HANDOFF
        timings["total"] = _ms(started)
        trace["rewrite"] = {"original": rewrite.original, "question": rewrite.question,
                            "rule": rewrite.rule, **trace.get("rewrite", {})}
        yield Answer(question=safe_question, text=text, outcome=outcome,
                     confidence=round(retrieval.confidence, 4), citations=citations,
                     options=options, flags=flags, routing=routing,
                     reasons=_reasons(flags, routing, message), language=language,
                     generator=generator, trace_id=trace["trace_id"], trace=trace,
                     emotion=message.emotion, question_type=message.question_type,
                     priority=message.priority)

    def _retrieve(self, rewrite: Rewrite, turns: list[Turn], where: SearchFilter | None,
                  trace: dict, read_evidence: bool = True) -> Retrieval:
        """Retrieval for the standalone question (`read_evidence`: may the evidence reader
        change the decision). A rewritten follow-up whose best match is also the previous
        question's best match asked nothing new by that reading (the previous question's words
        dominated), so the follow-up's own words are searched."""
        k = max(self.settings.answer.evidence_items, 3)
        retrieval = self.knowledge_base.retrieve(rewrite.question, k=k, where=where, read_evidence=read_evidence)
        previous = previous_question(turns)
        if not rewrite.rewritten or previous is None or not retrieval.hits:
            return retrieval
        before = self.knowledge_base.retrieve(previous, k=1, where=where, read_evidence=False)
        if before.hits and before.hits[0].id == retrieval.hits[0].id:
            trace["rewrite"] = {**trace.get("rewrite", {}), "searched": rewrite.original,
                                "why": "the rewrite only found the previous question's answer"}
            return self.knowledge_base.retrieve(rewrite.original, k=k, where=where, read_evidence=read_evidence)
        return retrieval

    def _chosen_hit(self, option_id: str) -> Hit:
        """The live chunk `option_id` names (an FAQ entry's id, or `<document>#<n>`), as a hit."""
        doc_id = option_id if "#" not in option_id else option_id.rsplit("#", 1)[0]
        chunk = next((c for c in self.knowledge_base.document_chunks(doc_id)
                      if c.id == option_id and not c.answer_field and c.text.strip()), None)
        if chunk is None:
            raise UnknownEntryError(f"no entry {option_id!r} with an answer in the live index")
        return Hit(id=chunk.id, doc_id=chunk.doc_id, score=1.0, source=chunk.source, kind=chunk.kind,
                   text=chunk.text, question=chunk.question, heading_path=chunk.heading_path,
                   category=chunk.category, products=chunk.products, valid_from=chunk.valid_from,
                   valid_to=chunk.valid_to, matched_text=chunk.question, confidence=1.0)

    def _answerable(self, retrieval: Retrieval, trace: dict) -> Retrieval:
        """`retrieval` without the hits that have no answer text (retrieval-only FAQ entries,
        `"answer": null`): nothing of theirs can be sent, given to the LLM or cited. When the
        best hit was one, the best hit left answers only if its own calibrated confidence
        reaches the answer threshold and STAND_IN_CONFIDENCE (and, with the evidence reader on,
        its text reads as answering), else the decision becomes NONE (a refusal); either way
        the confidence is that hit's. A best hit the team declined
        (DECLINED_TAG: it was sure enough to answer, so the question is one of those wordings)
        is refused without a stand-in, keeping its own confidence: how sure the refusal is."""
        hits = [hit for hit in retrieval.hits if hit.text.strip()]
        if len(hits) == len(retrieval.hits):
            return retrieval
        trace["answerless_hits"] = [hit.id for hit in retrieval.hits if not hit.text.strip()]
        if hits and hits[0].id == retrieval.hits[0].id:
            return retrieval.model_copy(update={"hits": hits})
        if self._declined(retrieval.hits[0].doc_id):
            trace["declined"] = retrieval.hits[0].doc_id
            return retrieval.model_copy(update={"hits": hits, "decision": Decision.NONE})
        confidence = (hits[0].confidence or 0.0) if hits else 0.0
        threshold = max(self.knowledge_base.settings.retrieval.answer_confidence, STAND_IN_CONFIDENCE)
        decision = Decision.ANSWER if hits and confidence >= threshold else Decision.NONE
        score = (self.knowledge_base.retriever().evidence_score(retrieval.query, hits[0])
                 if decision is Decision.ANSWER else None)   # the stand-in is read like any direct answer
        if score is not None and score < self.knowledge_base.settings.retrieval.reader_threshold:
            decision = Decision.NONE
        return retrieval.model_copy(update={"hits": hits, "confidence": confidence, "decision": decision,
                                            "evidence_score": score})

    def _declined(self, doc_id: str) -> bool:
        """Whether FAQ entry `doc_id` holds wordings the team declines to answer (DECLINED_TAG)."""
        return any(DECLINED_TAG in chunk.tags for chunk in self.knowledge_base.document_chunks(doc_id))

    def _verified(self, question: str, retrieval: Retrieval, language: str, trace: dict) -> Retrieval:
        """`retrieval` unchanged unless its confidence is below `llm.verify_below` and the chat
        model does not confirm that the best hit answers the question; then the question gets
        the clarify reply with the answerable options, or a refusal when fewer than two."""
        if self.chat_model is None or retrieval.confidence >= self.chat_model.settings.verify_below:
            return retrieval
        verdict = check_evidence(self.chat_model, self.prompts.template("verify", language), question,
                                 retrieval.hits[0])
        trace["verify"] = verdict.as_trace()
        if verdict.confirmed:
            return retrieval
        options = [hit for hit in distinct_documents(retrieval.hits, 3) if hit.text.strip()]
        if len(options) >= 2:
            return retrieval.model_copy(update={"decision": Decision.CLARIFY, "options": options})
        return retrieval.model_copy(update={"decision": Decision.NONE})

    @staticmethod
    def _answerable_options(retrieval: Retrieval, trace: dict) -> Retrieval:
        """`retrieval` offering only options that have answer text (choosing a retrieval-only
        entry would lead to a refusal); fewer than two left, the decision becomes NONE."""
        options = [hit for hit in retrieval.options if hit.text.strip()]
        if len(options) == len(retrieval.options):
            return retrieval
        trace["answerless_hits"] = [hit.id for hit in retrieval.options if not hit.text.strip()]
        if len(options) < 2:
            return retrieval.model_copy(update={"options": [], "decision": Decision.NONE})
        return retrieval.model_copy(update={"options": options})

    def _rewrite(self, question: str, turns: list[Turn], language: str, trace: dict) -> Rewrite:
        rewrite = rewrite_followup(question, turns)
        if not rewrite.rewritten or self.chat_model is None or not self.chat_model.settings.rewrite:
            return rewrite
        template = self.prompts.template("rewrite", language)
        messages = template.render(question=question, history=_history_text(turns, self.prompts.phrases(language)))
        try:
            completion = self.chat_model.complete(messages)
        except LLMError as exc:
            trace["rewrite"] = {"llm_error": exc.reason}
            return rewrite
        standalone = completion.text.strip().splitlines()[0].strip()
        trace["rewrite"] = {"by": f"llm:{self.chat_model.model}"}
        return Rewrite(question, standalone or rewrite.question, f"{rewrite.rule}+llm")

    def _write(self, question: str, retrieval: Retrieval, turns: list[Turn],
               customer: Customer | None, language: str, phrases: Phrases, streaming: bool,
               timings: dict[str, float], trace: dict):
        """Yields text pieces; returns (body, text, citations, generator, flags): `body` is what
        the guard checks, `text` what the customer reads (the extractive body with the opening
        and closing lines; an LLM writes its own)."""
        flags: list[Flag] = []
        hits = retrieval.hits[:self.settings.answer.evidence_items]
        if self.chat_model is not None and retrieval.confidence >= self.chat_model.settings.min_confidence:
            llm_settings = self.chat_model.settings
            clock = time.perf_counter()
            budget = min(llm_settings.prompt_budget, llm_settings.context_tokens - llm_settings.max_tokens)
            fitted = fit_answer_prompt(self.prompts.template("answer", language), phrases, question,
                                       [evidence_text(hit) for hit in hits], turns, customer, budget)
            timings["prompt"] = _ms(clock)
            trace["prompt"] = {"tokens": fitted.tokens, "evidence_used": fitted.evidence_used,
                               "history_used": fitted.history_used,
                               "customer_included": fitted.customer_included,
                               "evidence_cut": fitted.evidence_cut}
            clock = time.perf_counter()
            try:
                if streaming:
                    pieces: list[str] = []
                    for piece in self.chat_model.stream(fitted.messages):
                        pieces.append(piece)
                        yield piece
                    raw = "".join(pieces).strip()
                    if not raw:
                        raise LLMError("malformed", f"chat model {self.chat_model.model}: empty reply")
                else:
                    raw = self.chat_model.complete(fitted.messages).text
                timings["generate"] = _ms(clock)
                body, cited, citation_flags = _checked_markers(raw, hits[:fitted.evidence_used])
                return body, body, cited, f"llm:{self.chat_model.model}", citation_flags
            except LLMError as exc:
                timings["generate"] = _ms(clock)
                flags.append(Flag(kind=FlagKind.LLM_ERROR, severity=2, routing=Routing.REVIEW,
                                  evidence=exc.reason,
                                  reason=f"the chat model failed ({exc.reason}); the embedded "
                                         f"default answered instead: {exc}"))
        clock = time.perf_counter()
        retriever = self.knowledge_base.retriever()
        tokens = retriever.tokenizer.tokenize(question)
        extract = extract_answer(tokens, hits, lambda t: retriever.index.keyword_ceiling([t]))
        timings["generate"] = timings.get("generate", 0.0) + _ms(clock)
        body = extract.text if extract else ""
        cited = [Citation.from_hit(n, hits[i]) for n, i in enumerate(extract.used, start=1)] if extract else []
        text = _join(language, phrases.opening, body or phrases.refusal, phrases.closing_for(customer))
        yield text
        return body, text, cited, "extractive", flags

    def _clarify_text(self, question: str, options: list[Citation], language: str,
                      phrases: Phrases, trace: dict) -> str:
        """The fixed clarify line with numbered options; worded by the LLM when one is
        configured and every option title survives in its reply (else the fixed text)."""
        lines = [f"{o.marker}. {o.title}" for o in options]
        fixed = "\n".join([phrases.clarify_intro, *lines])
        if self.chat_model is None:
            return fixed
        messages = self.prompts.template("clarify", language).render(
            question=question, options="\n".join(lines))
        try:
            text = self.chat_model.complete(messages).text
        except LLMError as exc:
            trace["clarify"] = {"llm_error": exc.reason}
            return fixed
        return text if all(o.title in text for o in options) else fixed

    def _handoff_summary(self, question: str, turns: list[Turn], customer: Customer | None,
                         message: GuardResult, language: str, phrases: Phrases) -> str:
        """A note for the person taking over: by the LLM when configured, else by rule."""
        flags_text = ", ".join(message.reasons) or "-"
        if self.chat_model is not None:
            messages = self.prompts.template("handoff_summary", language).render(
                question=question, history=_history_text(turns, phrases),
                customer=format_customer(customer, phrases, language), flags=flags_text)
            try:
                return self.chat_model.complete(messages).text
            except LLMError:
                pass  # the rule-based note below is always available
        last_reply = next((t.content for t in reversed(turns) if t.role == "assistant"), "-")
        if language == "zh":
            return f"诉求：{question}\n已提供：{last_reply}\n注意：{flags_text}"
        return f"Request: {question}\nAlready given: {last_reply}\nNote: {flags_text}"


# ---- helpers -----------------------------------------------------------------------------

def _final(items: Iterator[str | Answer]) -> Answer:
    """The Answer a pipeline run ends with (the text pieces before it are dropped)."""
    for item in items:
        if isinstance(item, Answer):
            return item
    raise AssertionError("the answer pipeline ended without an answer")


def _checked_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("question", "is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError("question", f"has {len(question)} characters; at most {MAX_QUESTION_CHARS}")
    return question.strip()


def _checked_markers(raw: str, given: list[Hit]) -> tuple[str, list[Citation], list[Flag]]:
    """Keep [n] markers that point at given evidence, drop the others and flag them."""
    flags: list[Flag] = []
    bad = sorted({int(m) for m in _MARKER.findall(raw) if not 1 <= int(m) <= len(given)})
    body = _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(given) else "", raw).strip()
    if bad:
        flags.append(Flag(kind=FlagKind.BAD_CITATION, severity=2, routing=Routing.REVIEW,
                          evidence=", ".join(f"[{n}]" for n in bad),
                          reason=f"the reply cited {', '.join(f'[{n}]' for n in bad)}, but only "
                                 f"{len(given)} evidence items were given; removed"))
    used = sorted({int(m) for m in _MARKER.findall(body)})
    if not used and given:
        used = [1]
        flags.append(Flag(kind=FlagKind.BAD_CITATION, severity=1, routing=Routing.SEND,
                          reason="the reply has no [n] markers; the top evidence is cited"))
    return body, [Citation.from_hit(n, given[n - 1]) for n in used], flags


def _history_text(turns: list[Turn], phrases: Phrases) -> str:
    return "\n".join(f"{t.role}: {t.content}" for t in turns) or phrases.no_history


def _join(language: str, *parts: str) -> str:
    separator = "" if language == "zh" else " "
    return separator.join(p.strip() for p in parts if p and p.strip())


def _reasons(flags: list[Flag], routing: Routing, message: GuardResult) -> list[str]:
    """Reason codes for the routing: the guard's own codes, then each flag kind, unique."""
    codes = [*message.reasons, *(f.kind.value for f in flags if f.routing is not Routing.SEND)]
    return list(dict.fromkeys(codes)) if routing is not Routing.SEND else []


def _reply_language(question: str, turns: list[Turn]) -> str:
    """The question's language; one without letters ("1", "？") takes the conversation's newest
    turn that has some, else Chinese (cs_rag is Chinese first)."""
    for text in (question, *(t.content for t in reversed(turns))):
        if any(ch.isalpha() for ch in text):
            return detect_language(text)
    return "zh"


def _retrieval_trace(retrieval: Retrieval) -> dict:
    return {"query": retrieval.query, "decision": retrieval.decision.value,
            "confidence": round(retrieval.confidence, 4), "unknown_names": retrieval.unknown_names,
            "evidence_score": None if retrieval.evidence_score is None else round(retrieval.evidence_score, 4),
            "evidence_verdict": retrieval.evidence_verdict,
            "hits": [{"id": h.id, "score": round(h.score, 4),
                      "confidence": None if h.confidence is None else round(h.confidence, 4),
                      "scores": {k: round(v, 4) for k, v in h.scores.items()}}
                     for h in retrieval.hits[:TRACE_HITS]]}


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)
