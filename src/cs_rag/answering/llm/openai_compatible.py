"""A chat model behind any OpenAI-compatible API, through the `openai` client.

Settings come from `LLMSettings` (CS_RAG_LLM_* variables or the TOML file). The API key is
read from CS_RAG_LLM_API_KEY or OPENAI_API_KEY, the base URL from the settings or
OPENAI_BASE_URL. Retries with exponential backoff (honouring Retry-After) are the openai
client's own, `retries` times, on timeouts, connection errors, 429 and 5xx. Every failure
that is left reaches the caller as one LLMError whose `reason` is a fixed word, so the
pipeline can fall back to the embedded default and say why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cs_rag.config import LLMSettings
from cs_rag.errors import LLMError
from cs_rag.extras import require

API_KEY_VARIABLES = ("CS_RAG_LLM_API_KEY", "OPENAI_API_KEY")
# Local OpenAI-compatible servers (llama.cpp, vLLM, Ollama) need no key, but the client wants one.
NO_KEY = "no-key"


@dataclass(frozen=True)
class Completion:
    """A finished reply."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float


class ChatModel:
    """One configured chat model; thread-safe (the openai client is)."""

    def __init__(self, settings: LLMSettings, environ: Mapping[str, str] | None = None) -> None:
        if not settings.model:
            raise LLMError("unavailable", "no chat model configured (set CS_RAG_LLM_MODEL)")
        environ = os.environ if environ is None else environ
        self.settings = settings
        self.model = settings.model
        api_key = next((environ[v] for v in API_KEY_VARIABLES if environ.get(v)), NO_KEY)
        base_url = settings.base_url or environ.get("OPENAI_BASE_URL") or None
        openai = require("openai", "llm", "a chat model behind an OpenAI-compatible API")
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url,
                                     timeout=settings.timeout, max_retries=settings.retries)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> Completion:
        """The model's reply to `messages` (at most `max_tokens`, default the settings');
        LLMError when there is no usable reply."""
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature, top_p=self.settings.top_p,
                max_tokens=max_tokens or self.settings.max_tokens)
        except Exception as exc:  # every failure becomes one LLMError (see _reason)
            raise LLMError(_reason(exc), f"chat model {self.model}: {_describe(exc)}") from exc
        choices = getattr(response, "choices", None)
        if not choices or not isinstance(getattr(choices[0].message, "content", None), str) \
                or not choices[0].message.content.strip():
            raise LLMError("malformed", f"chat model {self.model}: reply has no text")
        usage = getattr(response, "usage", None)
        return Completion(choices[0].message.content.strip(), choices[0].finish_reason,
                          getattr(usage, "prompt_tokens", None),
                          getattr(usage, "completion_tokens", None),
                          time.perf_counter() - started)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Text pieces as the model sends them. A stream that ends without a finish reason
        (cut halfway) or breaks raises LLMError after the pieces already yielded."""
        try:
            chunks = self._client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature, top_p=self.settings.top_p,
                max_tokens=self.settings.max_tokens, stream=True)
            finished = False
            for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                piece = getattr(choice.delta, "content", None)
                if piece:
                    yield piece
                if choice.finish_reason:
                    finished = True
        except LLMError:
            raise
        except Exception as exc:  # every failure becomes one LLMError (see _reason)
            raise LLMError(_reason(exc), f"chat model {self.model}: {_describe(exc)}") from exc
        if not finished:
            raise LLMError("malformed", f"chat model {self.model}: stream ended without a "
                           "finish reason (cut off)")


def chat_model_from(settings: LLMSettings, environ: Mapping[str, str] | None = None) -> ChatModel | None:
    """The configured chat model, or None when no model is set (the embedded default answers)."""
    return ChatModel(settings, environ) if settings.model else None


def _reason(exc: Exception) -> str:
    # Errors raised while a stream is read come from the HTTP library under the openai
    # client (httpx or httpx2, by openai version), not as openai exceptions.
    import openai  # a ChatModel exists, so the client is installed

    transport = type(exc).__module__.split(".")[0].startswith("httpx")
    if isinstance(exc, openai.APITimeoutError) or (transport and "Timeout" in type(exc).__name__):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.InternalServerError):
        return "server_error"
    if isinstance(exc, openai.APIConnectionError) or transport:
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    return "malformed"  # an unparseable body or a response of the wrong shape


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = f"{type(exc).__name__}: {exc}"
    return f"HTTP {status}: {text}" if status else text
