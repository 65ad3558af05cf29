"""The SQL that BM25 scoring and filters run (index/bm25.py's formula, computed at query time),
and small helpers the store, writer and search share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cs_rag.index.base import SearchFilter
from cs_rag.index.bm25 import K1, B

_TERM_SCORE = f"w.weight * p.tf * {K1 + 1} / (p.tf + {K1} * (1 - {B} + {B} * p.length / %(avgdl)s))"

# The top k chunks by BM25 (best row per chunk) among the rows found in each query term's
# `depth` highest-impact postings (postings_impact). {filter} is replaced by the filter SQL over
# postings columns; terms/weights/max_tf are the query's known terms, their idf * occurrences
# and highest tf; drift = max(1, avgdl / stats.impact_avgdl) turns an impact into a bound of the
# term's score without IDF at today's avgdl. A term read to its end bounds unread rows by 0,
# otherwise by its last impact read (`cut`). Rows found are scored on the terms that found
# them; the best row of each of the k best chunks so far is scored in full (one primary-key
# probe per other term), and the lowest of those k scores is the floor; only rows whose bound
# (other terms at most their cut and their highest tf at the row's length) reaches it are
# scored in full. `unseen` is the most a row no term found can score: the caller proves the
# result exact when the k-th score beats it, or reads deeper.
_KEYWORD_SQL = f"""
WITH w(term, weight, depth, max_tf) AS (
    SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[], %(depth)s::int[], %(max_tf)s::int[])),
fetched AS (
    SELECT w.term, p.row_id, p.chunk_id, p.position, p.length, p.impact, {_TERM_SCORE} AS score
    FROM w CROSS JOIN LATERAL (
        SELECT p.row_id, p.chunk_id, p.position, p.length, p.tf, p.impact FROM postings p
        WHERE p.term = w.term AND {{filter}} ORDER BY p.impact DESC LIMIT w.depth) p),
cut AS (
    SELECT w.term, w.weight, w.max_tf,
           CASE WHEN count(f.row_id) < w.depth THEN 0 ELSE min(f.impact) * %(drift)s END AS impact
    FROM w LEFT JOIN fetched f ON f.term = w.term GROUP BY w.term, w.weight, w.max_tf, w.depth),
partial AS (
    SELECT row_id, chunk_id, position, length, sum(score) AS score, array_agg(term) AS seen
    FROM fetched GROUP BY row_id, chunk_id, position, length),
head AS (
    SELECT partial.* FROM (
        SELECT DISTINCT ON (chunk_id) * FROM partial ORDER BY chunk_id, score DESC) partial
    ORDER BY partial.score DESC LIMIT %(k)s),
floor AS (
    SELECT CASE WHEN count(*) < %(k)s THEN 0 ELSE min(partial.score + {{rest}}) END AS score
    FROM head partial),
complete AS (
    SELECT partial.chunk_id, partial.position, partial.score + {{rest}} AS score
    FROM partial, floor WHERE partial.score + {{bound}} >= floor.score),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM complete
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score, (SELECT sum(weight * impact) FROM cut) AS unseen
FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""
# The terms that did not find the row `partial`: their score (one primary-key probe each) ...
_REST = f"""coalesce((SELECT sum({_TERM_SCORE}) FROM w JOIN postings p
                     ON p.term = w.term AND p.row_id = partial.row_id
                     WHERE w.term <> ALL(partial.seen)), 0)"""
# ... and the most it can be: at most the term's cut, and its highest tf at the row's length
# (a term's score grows with tf, which is at most the row's length); a hair more for rounding.
_BOUND = f"""(SELECT coalesce(sum(cut.weight * least(cut.impact,
                 least(cut.max_tf, partial.length) * {K1 + 1} / (least(cut.max_tf, partial.length)
                 + {K1} * (1 - {B} + {B} * partial.length / %(avgdl)s)))), 0)
              FROM cut WHERE cut.term <> ALL(partial.seen)) * (1 + 1e-9)"""
_KEYWORD_SQL = _KEYWORD_SQL.replace("{rest}", _REST).replace("{bound}", _BOUND)
# The same ranking over the rows of the given chunks only (`restrict`): rows by chunk (the
# filter is over their columns, `r.`), each query term's posting by primary key.
_RESTRICTED_SQL = f"""
WITH w(term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[])),
scored AS (
    SELECT r.chunk_id, r.position, sum({_TERM_SCORE}) AS score
    FROM match_rows r CROSS JOIN w JOIN postings p ON p.term = w.term AND p.row_id = r.id
    WHERE r.chunk_id = ANY(%(restrict)s) AND {{filter}}
    GROUP BY r.id, r.chunk_id, r.position),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM scored
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""


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

