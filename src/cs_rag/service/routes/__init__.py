"""One APIRouter per area of the HTTP API, in the order the OpenAPI document lists them."""

from cs_rag.service.routes import answer, dify, figures, knowledge, learning, ops, qa, reviews, search

ROUTERS = [answer.router, search.router, dify.router, learning.router, reviews.router, knowledge.router,
           figures.router, qa.router, ops.router]
