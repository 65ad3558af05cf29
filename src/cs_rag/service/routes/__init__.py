"""One APIRouter per area of the HTTP API, in the order the OpenAPI document lists them."""

from cs_rag.service.routes import answer, dify, knowledge, ops, reviews, search

ROUTERS = [answer.router, search.router, dify.router, reviews.router, knowledge.router, ops.router]
