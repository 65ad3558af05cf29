"""The Store contract (cs_rag.index.base.Store) as tests every backend inherits: the write side
of a knowledge base, where the Index contract is the read side.

A backend's test module subclasses StoreContract and provides the `store` fixture: a new,
empty Store. Content comes from `index_contract.build` (synthetic vectors, no model).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from cs_rag.index.store import CALIBRATION_FILE, SYNONYMS_FILE, USER_DICT_FILE, Store
from cs_rag.testing.index_contract import DOCS, build

CALIBRATION = '{"note": "any JSON text the knowledge base wrote"}'


def doc_ids(index) -> set[str]:
    """The documents an index holds (ordinals need not run 0..n-1, so ask its manifest)."""
    return set(index.manifest.documents)


def commit(store: Store, docs=DOCS, *, user_dict: Path | None = None, calibration: str | None = None) -> None:
    with store.writing() as writing:
        writing.commit(build(docs), calibration, user_dict, None)


class StoreContract:
    """Behaviour every Store backend must show; subclasses provide the `store` fixture."""

    def test_a_new_store_has_no_live_version_and_nothing_to_export(self, store):
        assert store.live() is None
        assert store.export() is None
        with store.writing() as writing:
            assert writing.previous is None and writing.previous_folder is None

    def test_a_commit_publishes_the_index_and_its_files(self, store, tmp_path):
        user_dict = tmp_path / "userdict.txt"
        user_dict.write_text("七天无理由 10 n\n", encoding="utf-8")
        commit(store, user_dict=user_dict, calibration=CALIBRATION)
        version = store.live()
        assert version is not None and version.name
        index = store.open(version)
        assert len(index) == len(DOCS) and doc_ids(index) == {d[0] for d in DOCS}
        assert [c.doc_id for c in index.document_chunks("refund")] == ["refund"]
        assert index.document_chunks("no-such-document") == []
        assert (version.folder / USER_DICT_FILE).read_text(encoding="utf-8") == "七天无理由 10 n\n"
        assert (version.folder / CALIBRATION_FILE).read_text(encoding="utf-8") == CALIBRATION
        assert not (version.folder / SYNONYMS_FILE).exists()

    def test_export_is_the_live_content_in_memory(self, store):
        commit(store)
        exported = store.export()
        reference = build()
        assert [c.id for c in exported.chunks] == [c.id for c in reference.chunks]
        assert [r.tokens for r in exported.rows] == [r.tokens for r in reference.rows]
        assert exported.vectors.shape == reference.vectors.shape
        assert set(exported.manifest.documents) == set(reference.manifest.documents)

    def test_the_next_writer_sees_the_last_commit_and_replaces_it(self, store):
        commit(store, calibration=CALIBRATION)
        first = store.live()
        with store.writing() as writing:
            assert doc_ids(writing.previous) == {d[0] for d in DOCS}
            assert (writing.previous_folder / CALIBRATION_FILE).read_text(encoding="utf-8") == CALIBRATION
            writing.commit(build(DOCS[:2]), None, None, None)
        second = store.live()
        assert second.name != first.name
        assert doc_ids(store.open(second)) == {DOCS[0][0], DOCS[1][0]}

    def test_a_writer_that_fails_before_committing_changes_nothing(self, store):
        commit(store)
        before = store.live()
        with pytest.raises(RuntimeError), store.writing():
            raise RuntimeError("the ingest failed half way")
        assert store.live() == before
        assert doc_ids(store.open(store.live())) == {d[0] for d in DOCS}

    def test_writers_take_turns(self, store):
        commit(store)
        order: list[str] = []
        first_holds = threading.Event()

        def second_writer() -> None:
            first_holds.wait(10)
            with store.writing():
                order.append("second")

        thread = threading.Thread(target=second_writer)
        thread.start()
        with store.writing():
            first_holds.set()
            time.sleep(0.3)   # the second writer is waiting for the lock now
            order.append("first")
        thread.join(10)
        assert order == ["first", "second"]
