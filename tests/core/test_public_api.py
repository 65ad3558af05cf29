"""`import cs_rag` exposes exactly the tested public API."""

import cs_rag


def test_all_names_exist_and_are_sorted():
    assert cs_rag.__all__ == sorted(cs_rag.__all__)
    missing = [name for name in cs_rag.__all__ if not hasattr(cs_rag, name)]
    assert missing == []


def test_core_entry_points_are_public():
    for name in ("KnowledgeBase", "Settings", "load_settings", "Tokenizer", "Hit", "FaqEntry",
                 "Document", "Chunk", "CsRagError", "InputError", "SearchFilter", "Index",
                 "Guard", "GuardResult", "mask_pii", "Assistant", "Answer", "Customer", "Turn",
                 "Outcome", "Routing", "FlagKind", "ChatModel", "LLMError"):
        assert name in cs_rag.__all__


def test_every_error_is_a_cs_rag_error():
    for name in cs_rag.__all__:
        obj = getattr(cs_rag, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, cs_rag.CsRagError), name
