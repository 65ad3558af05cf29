"""The schema of a knowledge base in PostgreSQL, as migrations: version n is migrations 1..n."""

from __future__ import annotations

import re

from cs_rag.index.bm25 import K1, B

SCHEMA_VERSION = 4
EXTENSION = "vector"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_KEY = "cs_rag:"  # advisory lock per schema: hashtext(_LOCK_KEY || schema)
_CHUNK_CACHE = 50_000  # chunks kept per process (ordinals are never reused, so never stale)
# A posting's impact: its BM25 term score without the IDF, at the mean row length {avgdl}
# stats.impact_avgdl holds (the order keyword search reads a term's postings in)
IMPACT_SQL = f"tf * {K1 + 1} / (tf + {K1} * (1 - {B} + {B} * length / {{avgdl}}))"

# Migration n brings a schema from version n-1 to n; each runs in its own transaction.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE stats (id int PRIMARY KEY CHECK (id = 1),
               generation bigint NOT NULL DEFAULT 0, n_chunks bigint NOT NULL DEFAULT 0,
               n_rows bigint NOT NULL DEFAULT 0, total_len bigint NOT NULL DEFAULT 0,
               idf_floor float8 NOT NULL DEFAULT 0.001)""",
        "INSERT INTO stats (id) VALUES (1)",
        """CREATE TABLE documents (doc_id text PRIMARY KEY, content_hash text NOT NULL,
               kind text NOT NULL, source text NOT NULL, file text NOT NULL, chunks int NOT NULL)""",
        "CREATE SEQUENCE chunk_ids",
        "CREATE SEQUENCE row_ids",
        """CREATE TABLE chunks (id bigint PRIMARY KEY,
               doc_id text NOT NULL REFERENCES documents ON DELETE CASCADE, data text NOT NULL)""",
        "CREATE INDEX chunks_doc ON chunks (doc_id)",
        """CREATE TABLE match_rows (id bigint PRIMARY KEY,
               chunk_id bigint NOT NULL REFERENCES chunks ON DELETE CASCADE,
               position int NOT NULL, key text NOT NULL, tokens text[] NOT NULL,
               length int NOT NULL, category text, kind text NOT NULL, valid_from date,
               valid_to date, embedding vector)""",
        "CREATE INDEX match_rows_chunk ON match_rows (chunk_id, position)",
        "CREATE TABLE terms (term text PRIMARY KEY, df int NOT NULL)",
        """CREATE TABLE postings (term text NOT NULL,
               row_id bigint NOT NULL REFERENCES match_rows ON DELETE CASCADE,
               tf int NOT NULL, PRIMARY KEY (term, row_id))""",
        "CREATE INDEX postings_row ON postings (row_id)",
    ],
    2: [  # postings carry what scoring and filters read, in the primary key's leaf pages
        """ALTER TABLE postings ADD COLUMN length int, ADD COLUMN chunk_id bigint,
               ADD COLUMN position int, ADD COLUMN category text, ADD COLUMN kind text,
               ADD COLUMN valid_from date, ADD COLUMN valid_to date""",
        """UPDATE postings p SET length = r.length, chunk_id = r.chunk_id, position = r.position,
               category = r.category, kind = r.kind, valid_from = r.valid_from, valid_to = r.valid_to
           FROM match_rows r WHERE r.id = p.row_id""",
        """ALTER TABLE postings ALTER COLUMN length SET NOT NULL, ALTER COLUMN chunk_id SET NOT NULL,
               ALTER COLUMN position SET NOT NULL, ALTER COLUMN kind SET NOT NULL""",
        """ALTER TABLE postings DROP CONSTRAINT postings_pkey, ADD PRIMARY KEY (term, row_id)
               INCLUDE (tf, length, chunk_id, position, category, kind, valid_from, valid_to)""",
        "ALTER TABLE terms ADD COLUMN max_tf int",
        """UPDATE terms t SET max_tf = m.tf
           FROM (SELECT term, max(tf) AS tf FROM postings GROUP BY term) m WHERE m.term = t.term""",
        "UPDATE terms SET max_tf = 1 WHERE max_tf IS NULL",
        "ALTER TABLE terms ALTER COLUMN max_tf SET NOT NULL",
    ],
    3: [  # the products filter column (SearchFilter.products); rows written before have none
        "ALTER TABLE match_rows ADD COLUMN products text[] NOT NULL DEFAULT '{}'",
        "ALTER TABLE postings ADD COLUMN products text[] NOT NULL DEFAULT '{}'",
        """ALTER TABLE postings DROP CONSTRAINT postings_pkey, ADD PRIMARY KEY (term, row_id)
               INCLUDE (tf, length, chunk_id, position, category, kind, valid_from, valid_to, products)""",
    ],
    4: [  # impact-ordered postings: keyword search reads each term's best postings first
        "ALTER TABLE stats ADD COLUMN impact_avgdl float8 NOT NULL DEFAULT 1",
        "UPDATE stats SET impact_avgdl = total_len::float8 / n_rows WHERE total_len > 0",
        "ALTER TABLE postings ADD COLUMN impact float8",
        f"UPDATE postings SET impact = {IMPACT_SQL.format(avgdl='s.impact_avgdl')} FROM stats s",
        "ALTER TABLE postings ALTER COLUMN impact SET NOT NULL",
        # probes by (term, row) read only what scoring needs; candidates come from the impact order
        "ALTER TABLE postings DROP CONSTRAINT postings_pkey, ADD PRIMARY KEY (term, row_id) INCLUDE (tf, length)",
        """CREATE INDEX postings_impact ON postings (term, impact DESC) INCLUDE (row_id, tf, length,
               chunk_id, position, category, kind, valid_from, valid_to, products)""",
    ],
}
