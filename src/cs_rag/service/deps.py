"""What routes depend on: the service state and the caller (a client, widget or admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cs_rag.service.auth import ADMIN_KEYS_ENV, API_KEYS_ENV, Caller
from cs_rag.service.state import Service

bearer = HTTPBearer(auto_error=False, description=f"Client keys from {API_KEYS_ENV}, admin keys "
                    f"from {ADMIN_KEYS_ENV} (comma-separated environment variables).")


def _service(request: Request) -> Service:
    return request.app.state.service


def _client(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                     Depends(bearer)]) -> Caller:
    return _service(request).authorize(credentials, request, admin=False)


def _asker(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(bearer)]) -> Caller:
    return _service(request).authorize(credentials, request, admin=False, widget=True)


def _admin(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(bearer)]) -> Caller:
    return _service(request).authorize(credentials, request, admin=True)


ServiceDep = Annotated[Service, Depends(_service)]
ClientDep = Annotated[Caller, Depends(_client)]
AskerDep = Annotated[Caller, Depends(_asker)]     # a client, or the chat widget (its key)
AdminDep = Annotated[Caller, Depends(_admin)]

