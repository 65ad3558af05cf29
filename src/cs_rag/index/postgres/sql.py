"""The SQL that BM25 scoring and filters run (index/bm25.py's formula, computed at query time),
and small helpers the store, writer and search share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cs_rag.index.base import SearchFilter
from cs_rag.index.bm25 import K1, B

_TERM_SCORE = f"w.weight * p.tf * {K1 + 1} / (p.tf + {K1} * (1 - {B} + {B} * p.length / %(avgdl)s))"
# The most a non-essential term can add to the row `partial` (its tf is at most max_tf and
# at most the row's length, and the score grows with tf); a hair more against float rounding.
_ROW_BOUND = f"""(SELECT coalesce(sum(w.weight * least(w.max_tf, partial.length) * {K1 + 1}
                    / (least(w.max_tf, partial.length) + {K1} * (1 - {B} + {B} * partial.length / %(avgdl)s))), 0)
                  FROM w WHERE NOT w.essential) * (1 + 1e-9)"""

# The other (non-essential) terms' score of the row `partial.row_id`: one primary-key probe each.
_REST_SCORE = f"""coalesce((SELECT sum({_TERM_SCORE}) FROM w JOIN postings p
                         ON p.term = w.term AND p.row_id = partial.row_id WHERE NOT w.essential), 0)"""

# The top k chunks by BM25 (best row per chunk), MaxScore style. {filter} is replaced by the
# filter SQL over postings columns; terms/weights/max_tf are the query's known terms, their
# idf * occurrences and highest tf; `essential` marks those whose postings are read in full.
# Rows holding an essential term are scored on those terms; the best row of each of the k
# best chunks so far is scored in full, and the lowest of those k scores is the floor (no
# higher than the true k-th score); only rows whose bound (_ROW_BOUND) reaches it get the
# other terms' scores added. Rows holding no essential term are never seen: the caller
# checks that they cannot reach the k-th score returned.
_KEYWORD_SQL = f"""
WITH w(term, weight, essential, max_tf) AS (
    SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[], %(essential)s::bool[],
                         %(max_tf)s::int[])),
partial AS (
    SELECT p.row_id, p.chunk_id, p.position, p.length, sum({_TERM_SCORE}) AS score
    FROM w JOIN postings p ON p.term = w.term
    WHERE w.essential AND {{filter}}
    GROUP BY p.row_id, p.chunk_id, p.position, p.length),
head AS (
    SELECT partial.row_id, partial.score FROM (
        SELECT DISTINCT ON (chunk_id) row_id, score FROM partial ORDER BY chunk_id, score DESC) partial
    ORDER BY partial.score DESC LIMIT %(k)s),
floor AS (
    SELECT CASE WHEN count(*) < %(k)s THEN 0 ELSE min(partial.score + {_REST_SCORE}) END AS score
    FROM head partial),
complete AS (
    SELECT partial.chunk_id, partial.position, partial.score + {_REST_SCORE} AS score
    FROM partial, floor WHERE partial.score + {_ROW_BOUND} >= floor.score),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM complete
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""
# The same ranking over the rows of the given chunks only (`restrict`): rows by chunk, each
# query term's posting by primary key.
_RESTRICTED_SQL = f"""
WITH w(term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[])),
scored AS (
    SELECT p.chunk_id, p.position, sum({_TERM_SCORE}) AS score
    FROM match_rows r CROSS JOIN w JOIN postings p ON p.term = w.term AND p.row_id = r.id
    WHERE r.chunk_id = ANY(%(restrict)s) AND {{filter}}
    GROUP BY p.row_id, p.chunk_id, p.position),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM scored
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""
# Terms in more than this share of rows start out non-essential (a first guess: the result
# proves itself exact or the search is repeated with a bound it can meet).
_COMMON = 0.1



def _filter_sql(where: SearchFilter | None) -> tuple[str, dict[str, Any]]:
    """A WHERE condition over match_rows columns (SearchFilter.accepts in SQL)."""
    where = where or SearchFilter()
    parts, params = ["TRUE"], {}
    if where.categories is not None:
        parts.append("match_rows.category = ANY(%(categories)s)")
        params["categories"] = sorted(where.categories)
    if where.kinds is not None:
        parts.append("match_rows.kind = ANY(%(kinds)s)")
        params["kinds"] = sorted(k.value for k in where.kinds)
    if where.products is not None:
        parts.append("(cardinality(match_rows.products) = 0 OR match_rows.products && %(products)s::text[])")
        params["products"] = sorted(where.product_keys())
    if not where.include_expired:
        parts.append("(match_rows.valid_from IS NULL OR match_rows.valid_from <= %(day)s) AND "
                     "(match_rows.valid_to IS NULL OR match_rows.valid_to >= %(day)s)")
        params["day"] = where.valid_on or dt.date.today()
    return " AND ".join(parts), params


def _vector(vector: np.ndarray) -> Any:
    from pgvector import Vector

    return Vector(np.asarray(vector, dtype=np.float32).ravel())


def next_ids(conn: Any, sequence: str, n: int) -> list[int]:
    return [i for (i,) in conn.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, n))]

