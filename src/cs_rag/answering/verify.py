"""Borderline answers checked by the chat model before they are sent.

Retrieval's confidence knows little about wording it has never seen; a capable LLM reading the
best hit beside the question can tell "same topic, different thing" (another sale, another
platform, a feature the shop lacks). `check_evidence` asks it with the prompts' `verify`
template and reads a one-word verdict. Only an explicit yes confirms: a no, an unreadable reply
or a failed call do not, so a broken model can only make cs_rag more careful.
"""

from __future__ import annotations

from dataclasses import dataclass

from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.answering.prompt import PromptTemplate, evidence_text
from cs_rag.errors import LLMError
from cs_rag.types import Hit

VERDICT_TOKENS = 4
_YES = ("是", "能", "yes")
_NO = ("否", "不", "no")


@dataclass(frozen=True)
class Verdict:
    """What the model said about one hit: `confirmed` only on an explicit yes."""

    confirmed: bool
    reply: str          # the model's words, or the failure's reason
    failed: bool = False

    def as_trace(self) -> dict[str, object]:
        return {"confirmed": self.confirmed, "reply": self.reply, "failed": self.failed}


def read_verdict(reply: str) -> bool | None:
    """True for a yes, False for a no, None when the reply starts with neither."""
    word = reply.strip().strip("“”\"'「」*。.!！ ").lower()
    if word.startswith(_YES):
        return True
    if word.startswith(_NO):
        return False
    return None


def check_evidence(chat_model: ChatModel, template: PromptTemplate, question: str, hit: Hit) -> Verdict:
    """Whether the model confirms that `hit` answers `question`."""
    try:
        completion = chat_model.complete(template.render(question=question, evidence=evidence_text(hit)),
                                         max_tokens=VERDICT_TOKENS)
    except LLMError as exc:
        return Verdict(False, exc.reason, failed=True)
    return Verdict(read_verdict(completion.text) is True, completion.text)
