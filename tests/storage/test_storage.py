"""Storage-level tests, each run on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from greencircle.auth.models import Jurisdiction, Organisation
from greencircle.auth.seed import jurisdiction_rows, seed_jurisdictions
from greencircle.errors import Invalid
from greencircle.storage import migrate
from greencircle.storage.engine import make_session_factory, unit_of_work
from greencircle.storage.models import Base
from greencircle.storage.repository import Repository


def test_migrations_create_every_table_and_match_models(databases, backend, engines):
    url = databases.new(backend, "empty")
    migrate.upgrade(url)
    with engines(url).connect() as conn:
        assert migrate.current_revision(conn) is not None
        tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # The migrations produce exactly the schema the models declare.
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []


def test_downgrade_to_base_and_upgrade_again(databases, backend, engines):
    url = databases.new(backend, "empty")
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    with engines(url).connect() as conn:
        assert not set(Base.metadata.tables) & set(inspect(conn).get_table_names())
    migrate.upgrade(url)


def test_unit_of_work_rolls_back_everything_on_error(databases, backend, engines):
    url = databases.new(backend)
    factory = make_session_factory(engines(url))
    with unit_of_work(factory) as session:
        seed_jurisdictions(session)
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        session.add(
            Organisation(
                code="X-1",
                org_type="enterprise",
                name_en="a",
                name_zh="a",
                jurisdiction_code="CN-CQ",
            )
        )
        session.flush()
        raise RuntimeError("boom")
    with unit_of_work(factory) as session:
        assert session.scalar(select(Organisation).where(Organisation.code == "X-1")) is None


def test_foreign_keys_and_unique_constraints_are_enforced(databases, backend, engines):
    url = databases.new(backend)
    factory = make_session_factory(engines(url))
    with pytest.raises(IntegrityError), unit_of_work(factory) as session:
        session.add(
            Organisation(
                code="X-2",
                org_type="enterprise",
                name_en="a",
                name_zh="a",
                jurisdiction_code="NOWHERE",
            )
        )
        session.flush()
    with unit_of_work(factory) as session:
        seed_jurisdictions(session)
        session.add(
            Organisation(
                code="X-3",
                org_type="enterprise",
                name_en="a",
                name_zh="a",
                jurisdiction_code="CN-SC",
            )
        )
    with pytest.raises(IntegrityError), unit_of_work(factory) as session:
        session.add(
            Organisation(
                code="X-3",
                org_type="enterprise",
                name_en="b",
                name_zh="b",
                jurisdiction_code="CN-SC",
            )
        )
        session.flush()


def test_jurisdiction_tree_paths_follow_parents(databases, backend, engines):
    url = databases.new(backend)
    factory = make_session_factory(engines(url))
    with unit_of_work(factory) as session:
        added = seed_jurisdictions(session)
        assert added == len(jurisdiction_rows())
        assert seed_jurisdictions(session) == 0  # idempotent
    with unit_of_work(factory) as session:
        rows = {j.code: j for j in session.scalars(select(Jurisdiction))}
    for j in rows.values():
        expected = "/" + j.code + "/"
        parent = j.parent_code
        while parent:
            expected = "/" + parent + expected
            parent = rows[parent].parent_code
        assert j.path == expected
    assert rows["CN-SC-510100"].path == "/CN/CN-SC/CN-SC-510100/"
    assert {"CN", "CN-CQ", "CN-SC", "KZ", "UZ", "RU"} <= set(rows)


class _OrgRepo(Repository[Organisation]):
    model = Organisation


def test_paginate_sorts_pages_and_rejects_bad_keys(databases, backend, engines):
    url = databases.new(backend, "demo")
    factory = make_session_factory(engines(url))
    with unit_of_work(factory) as session:
        repo = _OrgRepo(session)
        stmt = select(Organisation)
        sortable = {"code": Organisation.code}
        everything = repo.paginate(stmt, limit=500, offset=0, sort="-code", sortable=sortable)
        codes = [o.code for o in everything.items]
        assert codes == sorted(codes, reverse=True)
        assert everything.total == len(codes)
        pages = [
            repo.paginate(stmt, limit=7, offset=o, sort="code", sortable=sortable)
            for o in range(0, everything.total, 7)
        ]
        assert [o.code for p in pages for o in p.items] == sorted(codes)
        with pytest.raises(Invalid) as err:
            repo.paginate(stmt, limit=5, offset=0, sort="password", sortable=sortable)
        assert err.value.code == "invalid_sort"
        with pytest.raises(Invalid):
            repo.paginate(stmt, limit=0, offset=0, sort=None, sortable=sortable)
