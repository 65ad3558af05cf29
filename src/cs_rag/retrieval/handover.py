"""Document hand-over: an FAQ answer that sends the reader to a document for the details
(各地区详细时效可查看《配送说明》, 完整规则请查看《双11促销活动规则》) gives up first place to that
document's chunk when the chunk covers the question's words about as well or better. The
question then asks for a detail the entry left to the document (寄到西藏要几天), and the chunk
that states it is the answer to cite.

The margin and depth were chosen on eval/ and eval/holdout/ (tuning sets), never on a blind set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cs_rag.types import DocumentKind, Hit

REFERENCE = re.compile(r"《([^《》]{1,40})》")
HANDOVER_DEPTH = 4      # the document's chunk must be among the first this many hits
HANDOVER_MARGIN = 0.2   # ... and leave at most this much more of the question uncovered


def referenced_documents(text: str) -> set[str]:
    """The document names an answer refers to in 《》."""
    return {name.strip() for name in REFERENCE.findall(text) if name.strip()}


def handover(hits: Sequence[Hit], uncovered: Sequence[float]) -> int | None:
    """The position of the hit that takes first place from `hits[0]`, or None. `uncovered[i]`
    is the IDF-weighted share of the question's words hit i lacks (near_miss.uncovered_share)."""
    if not hits or hits[0].kind is not DocumentKind.FAQ:
        return None
    names = referenced_documents(hits[0].text)
    if not names:
        return None
    best = None
    for i in range(1, min(HANDOVER_DEPTH, len(hits))):
        hit = hits[i]
        title = hit.heading_path[0] if hit.heading_path else ""
        if hit.kind is DocumentKind.FAQ or not (hit.doc_id in names or any(n in title for n in names)):
            continue
        if best is None or uncovered[i] < uncovered[best]:
            best = i
    if best is not None and uncovered[best] <= uncovered[0] + HANDOVER_MARGIN:
        return best
    return None
