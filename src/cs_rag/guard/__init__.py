"""The guard: flags on a customer's message and a drafted answer, and where they go next.

    from cs_rag.guard import Guard
    guard = Guard()
    result = guard.check_message("转人工！！")       # GuardResult(routing=handoff, ...)
    result = guard.check_answer("7天内可退", evidence=["签收后七天内可无理由退货"])

See `core` for the checks and routings, `lexicon` for the operator-editable word lists.
"""

from cs_rag.guard.core import (
                   Guard,
                   GuardResult,
                   OffensiveModel,
                   check_answer,
                   check_message,
                   mask_pii,
)
from cs_rag.guard.understanding import MessageModel
from cs_rag.types import Emotion, EmotionReading, QuestionType

__all__ = ["Emotion", "EmotionReading", "Guard", "GuardResult", "MessageModel", "OffensiveModel",
           "QuestionType", "check_answer", "check_message", "mask_pii"]
