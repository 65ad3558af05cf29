"""The SQL that BM25 scoring and filters run (index/bm25.py's formula, computed at query time),
and small helpers the store, writer and search share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cs_rag.index.base import SearchFilter
from cs_rag.index.bm25 import K1, B

_TERM_SCORE = f"w.weight * p.tf * {K1 + 1} / (p.tf + {K1} * (1 - {B} + {B} * p.length / %(avgdl)s))"

# The terms that did not find the row `partial` ({terms}: a condition on w): their score, one
# primary-key probe each.
_REST = f"""coalesce((SELECT sum({_TERM_SCORE}) FROM w JOIN postings p
    ON p.term = w.term AND p.row_id = partial.row_id WHERE {{terms}}), 0)"""

# Read 1, bounded: the rows found in each query term's `depth` highest-impact postings
# (postings_impact). {filter} is replaced by the filter SQL over postings columns; terms/weights
# are the query's known terms and their idf * occurrences; drift = max(1, avgdl /
# stats.impact_avgdl) turns an impact into a bound of the term's score without IDF at today's
# avgdl. A term read to its end bounds the rows it did not return by 0, otherwise by its weight
# times its last impact read (`cut`). Rows found are scored on the terms that found them
# (`partial`), bounded by that plus the other terms' cuts (`rest`).
_FIRST_READ = f"""
WITH w(term, weight, depth) AS (
    SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[], %(depth)s::int[])),
fetched AS (
    SELECT w.term, p.row_id, p.chunk_id, p.position, p.impact, {_TERM_SCORE} AS score
    FROM w CROSS JOIN LATERAL (
        SELECT p.row_id, p.chunk_id, p.position, p.length, p.tf, p.impact FROM postings p
        WHERE p.term = w.term AND {{filter}} ORDER BY p.impact DESC LIMIT w.depth) p),
cut AS (
    SELECT w.term, CASE WHEN count(f.row_id) < w.depth THEN 0
                        ELSE w.weight * min(f.impact) * %(drift)s * (1 + 1e-9) END AS bound
    FROM w LEFT JOIN fetched f ON f.term = w.term GROUP BY w.term, w.weight, w.depth),
partial AS (
    SELECT f.row_id, f.chunk_id, f.position, sum(f.score) AS score, array_agg(f.term) AS seen,
           (SELECT sum(bound) FROM cut) - sum(cut.bound) AS rest
    FROM fetched f JOIN cut ON cut.term = f.term GROUP BY f.row_id, f.chunk_id, f.position)"""

# The `complete` rows of `ranked` with the highest bound, scored in full: all the query terms'
# postings of those rows in one statement (row ids sorted: an unsorted array let the planner
# pick a plan a hundred times slower), and the best of them per chunk (`best`).
_COMPLETED = f""",
top AS (SELECT row_id, chunk_id, position FROM ranked ORDER BY bound DESC LIMIT %(complete)s),
complete AS (
    SELECT top.chunk_id, top.position, s.score FROM top JOIN (
        SELECT p.row_id, sum({_TERM_SCORE}) AS score FROM w CROSS JOIN LATERAL (
            SELECT p.row_id, p.tf, p.length FROM postings p
            WHERE p.term = w.term AND p.row_id = ANY(ARRAY(SELECT row_id FROM top ORDER BY row_id))) p
        GROUP BY p.row_id) s USING (row_id)),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM complete
         ORDER BY chunk_id, score DESC, position)"""

# The top k chunks by BM25 (best row per chunk) among the rows of the first read. The best row
# of each of the k best chunks so far is scored in full, and the lowest of those k scores is
# the floor; of the rows whose bound reaches it, the `complete` highest are scored in full.
# `unseen` is the most any other row can score (the cuts' sum, or the bound of the best row left
# out): the result is the exact top k when the k-th score beats it.
_PREFIX_SQL = (_FIRST_READ + """,
head AS (
    SELECT partial.* FROM (
        SELECT DISTINCT ON (chunk_id) * FROM partial ORDER BY chunk_id, score DESC) partial
    ORDER BY partial.score DESC LIMIT %(k)s),
floor AS (
    SELECT CASE WHEN count(*) < %(k)s THEN 0 ELSE min(partial.score + {rest}) END AS score
    FROM head partial),
ranked AS (
    SELECT partial.*, partial.score + partial.rest AS bound FROM partial, floor
    WHERE partial.score + partial.rest >= floor.score)""" + _COMPLETED + """
SELECT chunk_id, position, score,
       greatest((SELECT sum(bound) FROM cut),
                (SELECT bound FROM ranked ORDER BY bound DESC OFFSET %(complete)s LIMIT 1)) AS unseen
FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
""").replace("{rest}", _REST.replace("{terms}", "w.term <> ALL(partial.seen)"))

# The hybrid's keyword candidates: the best k chunks of the first read, their scores exact (the
# `complete` rows with the highest bound scored in full), no proof that no other row beats them.
_CANDIDATES_SQL = _FIRST_READ + """,
ranked AS (SELECT partial.*, partial.score + partial.rest AS bound FROM partial)""" + _COMPLETED + """
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""

# Read 2, exact (MaxScore): the top k chunks by BM25. `essential` marks the terms whose
# postings are read in full (by postings_impact, which leads with the term); max_tf is each
# term's highest tf. Rows holding an essential term are scored on those terms; the best row of
# each of the k best chunks so far is scored in full, and the floor is the lowest of those k
# scores or `theta` (a k-th score already found, so no higher than the true one), whichever is
# higher; only rows whose bound (the other terms at their highest tf at the row's length, a
# hair more against rounding) reaches it are scored in full. Rows holding no essential term
# are never seen: the caller checks that they cannot reach the k-th score returned.
_MAXSCORE_SQL = f"""
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
    SELECT greatest(%(theta)s, CASE WHEN count(*) < %(k)s THEN 0
                                    ELSE min(partial.score + {{rest}}) END) AS score
    FROM head partial),
complete AS (
    SELECT partial.chunk_id, partial.position, partial.score + {{rest}} AS score
    FROM partial, floor WHERE partial.score + {{bound}} >= floor.score),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM complete
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
""".replace("{rest}", _REST.replace("{terms}", "NOT w.essential")).replace("{bound}", f"""(
    SELECT coalesce(sum(w.weight * least(w.max_tf, partial.length) * {K1 + 1} / (least(w.max_tf, partial.length)
                    + {K1} * (1 - {B} + {B} * partial.length / %(avgdl)s))), 0)
    FROM w WHERE NOT w.essential) * (1 + 1e-9)""")

# The same ranking over the rows of the given chunks only (`restrict`): rows by chunk (the
# filter is over their columns, `r.`), each query term's posting by primary key (a lateral
# join, so no plan reads a term's postings whole).
_RESTRICTED_SQL = f"""
WITH w(term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[])),
scored AS (
    SELECT r.chunk_id, r.position, s.score
    FROM match_rows r CROSS JOIN LATERAL (
        SELECT sum({_TERM_SCORE}) AS score FROM w JOIN postings p ON p.term = w.term AND p.row_id = r.id) s
    WHERE r.chunk_id = ANY(%(restrict)s) AND s.score IS NOT NULL AND {{filter}}),
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

