"""Similar questions for an FAQ entry, written by the chat model (`index.generated_questions`).

`ChatQuestionWriter` is the QuestionWriter ingest calls (cs_rag.ingest.generated): it renders
the prompts' `similar` template in the entry's language and reads one wording per line of the
reply. A failed call raises LLMError, which ingest records for that entry and moves on.
"""

from __future__ import annotations

import re

from cs_rag.answering.llm.openai_compatible import ChatModel, chat_model_from
from cs_rag.answering.prompt import PromptLibrary
from cs_rag.config import Settings
from cs_rag.errors import ConfigError
from cs_rag.text import has_cjk

MAX_CHARS = 80          # a longer line is an explanation, not a customer's question
TOKENS_PER_WORDING = 48
ANSWER_RUN = 10         # Chinese characters in a row shared with the answer: the answer pasted
ANSWER_WORDS = 8        # the same in words, for other languages
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、)）:：]|[（(]\d{1,2}[)）])\s*")
_QUOTES = "\"'“”‘’「」『』"


class ChatQuestionWriter:
    """Writes new wordings of an FAQ question from its answer with `chat_model`."""

    def __init__(self, chat_model: ChatModel, prompts: PromptLibrary) -> None:
        self.chat_model = chat_model
        self.prompts = prompts

    def __call__(self, question: str, answer: str, count: int) -> list[str]:
        template = self.prompts.template("similar", "zh" if has_cjk(question) else "en")
        completion = self.chat_model.complete(
            template.render(question=question, answer=answer, count=str(count)),
            max_tokens=TOKENS_PER_WORDING * count)
        return [w for w in read_wordings(completion.text) if not quotes_answer(w, answer)][:count]


def read_wordings(reply: str) -> list[str]:
    """One wording per line of `reply`, without bullets, numbers and quotes; lines longer than
    MAX_CHARS and lead-ins ("以下是三种说法：") are dropped."""
    out = []
    for line in reply.splitlines():
        wording = _BULLET.sub("", line).strip().strip(_QUOTES).strip()
        if wording and len(wording) <= MAX_CHARS and not wording.endswith((":", "：")):
            out.append(wording)
    return out


def quotes_answer(wording: str, answer: str) -> bool:
    """Whether `wording` copies a run of `answer`: ANSWER_RUN characters of Chinese, or
    ANSWER_WORDS words of other text (a model that pasted the answer into its "question")."""
    if has_cjk(wording):
        return any(wording[i:i + ANSWER_RUN] in answer for i in range(len(wording) - ANSWER_RUN + 1))
    words, said = wording.lower().split(), " ".join(answer.lower().split())
    return any(" ".join(words[i:i + ANSWER_WORDS]) in said for i in range(len(words) - ANSWER_WORDS + 1))


def question_writer_from(settings: Settings) -> ChatQuestionWriter | None:
    """The writer ingest needs when `index.generated_questions` is set: ConfigError without a
    chat model; None when the setting is off."""
    if not settings.index.generated_questions:
        return None
    chat_model = chat_model_from(settings.llm)
    if chat_model is None:
        raise ConfigError("index.generated_questions", "needs a chat model: set [llm] model "
                          "(CS_RAG_LLM_MODEL), or 0 to write no similar questions")
    return ChatQuestionWriter(chat_model, PromptLibrary(settings.answer.prompts_dir, settings.company))
