"""Adapters that plug cs_rag into other frameworks, each behind its own extra:
`cs_rag.integrations.langchain` (extra `langchain`). Nothing in the library imports them."""
