"""The HTTP service: `create_app` builds the FastAPI app, `serve` runs it with uvicorn.

Layout (FastAPI's "bigger applications"): `routes/` holds one APIRouter per area, `deps` the
shared dependencies (the service state, the caller's key), `schemas` the request and response
bodies, `state` the `Service` every route shares; `auth`, `metrics`, `jobs`, `storage`,
`sessions`, `reviews` and `gate` are its parts; `dify` and `dify_conditions` hold Dify's
External Knowledge API contract (routes/dify.py serves it).
"""

from cs_rag.extras import require

require("fastapi", "server", "the HTTP service")

from cs_rag.service.app import create_app, serve  # noqa: E402 - after the extra is checked

__all__ = ["create_app", "serve"]
