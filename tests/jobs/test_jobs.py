"""Background jobs: progress, results, failures, visibility, recovery after a stop."""

from __future__ import annotations

import threading

from greencircle.auth.repository import UserRepo
from greencircle.auth.service import actor_for_user
from greencircle.errors import Invalid
from greencircle.jobs.models import Job
from greencircle.storage.engine import unit_of_work


def actor(api, username):
    session = api.client.app.state.session_factory()
    try:
        user = UserRepo(session).by_username(username)
        return actor_for_user(user, auth_method="test", token_id="")
    finally:
        session.close()


def test_progress_result_and_visibility(api):
    runner = api.client.app.state.jobs
    gate = threading.Event()
    seen: list[float] = []

    def work(ctx):
        for i in range(1, 5):
            ctx.progress(i / 4, f"step {i}")
        gate.wait(5)
        return {"answer": 42}

    job = runner.submit(actor(api, "cq-pow-01"), "test.work", {"n": 4}, work)
    r = api.get(f"/v1/jobs/{job.id}", "cq-pow-01").json()
    assert r["status"] in {"queued", "running"}
    seen.append(r["progress"])
    gate.set()
    runner.wait(job.id, 10)
    done = api.get(f"/v1/jobs/{job.id}", "cq-pow-01").json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    assert done["result"] == {"answer": 42} and done["finished_at"]
    other = api.get(f"/v1/jobs/{job.id}", "sc-pow-01")
    assert other.status_code == 403 and other.json()["error"] == "org_out_of_scope"
    assert api.get(f"/v1/jobs/{job.id}", "gc-secretariat").status_code == 200
    assert api.get("/v1/jobs/nope", "cq-pow-01").json()["error"] == "job_not_found"


def test_failures_keep_their_error_code(api):
    runner = api.client.app.state.jobs

    def bad(_ctx):
        raise Invalid("the spec is wrong", code="energy.spec_invalid")

    def crash(_ctx):
        raise RuntimeError("boom")

    a = runner.submit(actor(api, "cq-pow-01"), "test.bad", {}, bad)
    b = runner.submit(actor(api, "cq-pow-01"), "test.crash", {}, crash)
    runner.wait(a.id, 10)
    runner.wait(b.id, 10)
    ra = api.get(f"/v1/jobs/{a.id}", "cq-pow-01").json()
    rb = api.get(f"/v1/jobs/{b.id}", "cq-pow-01").json()
    assert ra["status"] == "failed" and ra["error"]["error"] == "energy.spec_invalid"
    assert rb["status"] == "failed" and rb["error"]["error"] == "internal_error"


def test_jobs_interrupted_by_a_stop_are_marked_failed(api):
    state = api.client.app.state
    with unit_of_work(state.session_factory) as s:
        s.add(
            Job(
                kind="x",
                owner_user_id="u",
                owner_org_id="o",
                status="running",
                progress=0.5,
                message="",
                params={},
            )
        )
    assert state.jobs.recover() == 1
    with unit_of_work(state.session_factory) as s:
        job = s.query(Job).filter_by(kind="x").one()
        assert job.status == "failed" and job.error["error"] == "interrupted"


def test_a_job_staged_in_a_transaction_starts_only_after_commit(api):
    state = api.client.app.state
    runner = state.jobs
    ran: list[str] = []

    def work(ctx):
        ran.append(ctx.job_id)
        return {}

    who = actor(api, "cq-pow-01")
    session = state.session_factory()
    rolled = runner.submit(who, "test.rollback", {}, work, session=session)
    session.rollback()
    session.close()
    session = state.session_factory()
    kept = runner.submit(who, "test.commit", {}, work, session=session)
    assert ran == [] and kept.id not in runner.futures  # nothing before the commit
    session.commit()
    session.close()
    runner.wait(kept.id, 10)
    assert ran == [kept.id]
    assert rolled.id not in runner.futures
    assert api.get(f"/v1/jobs/{rolled.id}", "cq-pow-01").status_code == 404
    assert api.get(f"/v1/jobs/{kept.id}", "cq-pow-01").json()["status"] == "succeeded"


def test_progress_reported_inside_the_jobs_own_write_transaction(api):
    """A job reports progress while its write transaction is open (as an upload does).

    On SQLite a progress write on a second connection would wait for that very
    transaction and fail with ``database is locked``; progress must need no writer.
    """
    state = api.client.app.state
    runner = state.jobs

    def work(ctx):
        with unit_of_work(ctx.session_factory) as session:
            session.add(
                Job(
                    kind="test.inner",
                    owner_user_id="u",
                    owner_org_id="o",
                    status="succeeded",
                    progress=1.0,
                    message="",
                    params={},
                )
            )
            session.flush()  # the write lock is held from here to the commit
            ctx.progress(0.5, "storing")
            ctx.progress(1.0, "stored")
        return {"ok": True}

    job = runner.submit(actor(api, "cq-pow-01"), "test.write", {}, work)
    runner.wait(job.id, 120)
    done = api.get(f"/v1/jobs/{job.id}", "cq-pow-01").json()
    assert done["status"] == "succeeded", done
    assert done["result"] == {"ok": True} and done["progress"] == 1.0
    with unit_of_work(state.session_factory) as s:
        assert s.query(Job).filter_by(kind="test.inner").count() == 1


def test_live_progress_is_served_while_the_job_runs(api):
    runner = api.client.app.state.jobs
    reported, gate = threading.Event(), threading.Event()

    def work(ctx):
        ctx.progress(0.25, "parsing")
        ctx.progress(0.5, "calculating")
        reported.set()
        gate.wait(30)
        return {"n": 1}

    job = runner.submit(actor(api, "cq-pow-01"), "test.live", {}, work)
    assert reported.wait(30)
    running = api.get(f"/v1/jobs/{job.id}", "cq-pow-01").json()
    assert running["status"] == "running"
    assert (running["progress"], running["message"]) == (0.5, "calculating")
    gate.set()
    runner.wait(job.id, 30)
    done = api.get(f"/v1/jobs/{job.id}", "cq-pow-01").json()
    assert (done["status"], done["progress"], done["message"]) == ("succeeded", 1.0, "done")
    assert runner.live(job.id) is None
