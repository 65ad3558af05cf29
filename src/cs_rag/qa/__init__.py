"""Quality inspection (智能质检) of human agents' conversations: findings, scores, a report.

    from cs_rag.qa import Inspector, read_conversations
    conversations, _ = read_conversations(Path("chats.jsonl"))
    for result in Inspector(settings).inspect(conversations):
        print(result.id, [f.code for f in result.findings], result.scores.overall)

See docs/qa.md for the input format, the finding codes and how the scores are computed.
"""

from cs_rag.qa.conversation import (
           Conversation,
           QaTurn,
           Role,
           parse_conversation,
           read_conversations,
)
from cs_rag.qa.findings import Finding, FindingCode, Inspection, Scores
from cs_rag.qa.inspector import Inspector

__all__ = ["Conversation", "Finding", "FindingCode", "Inspection", "Inspector", "QaTurn", "Role",
           "Scores", "parse_conversation", "read_conversations"]
