"""The throwaway PostgreSQL server starts from a checkout its unprivileged user cannot reach."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from cs_rag.testing.local_postgres import LocalPostgres, pg_home

pytestmark = pytest.mark.postgres


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_binaries_under_a_private_home_are_copied_where_the_server_user_can_run_them(tmp_path: Path) -> None:
    home = pg_home()
    assert home is not None, "scripts/setup.sh installs the PostgreSQL binaries"
    private = tmp_path / "root-home"
    install = home.resolve().parents[1]        # the package and the libraries beside it
    shutil.copytree(install, private / "install", symlinks=True)
    private.chmod(0o700)           # like /root: nobody else may enter
    private_home = private / "install" / home.resolve().relative_to(install)
    with LocalPostgres(home=private_home) as server:
        assert not server.home.is_relative_to(private)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    shutil.rmtree(server.home.parents[1])      # the copy this test's private install made
    with LocalPostgres(home=pg_home()) as reachable:   # a reachable install is used in place
        assert reachable.home == pg_home()
