"""A bounded Schemathesis run against the whole API finds no server error and no violation.

The app runs in-process (ASGI) on a temporary SQLite copy of the demo scenario, once
authenticated as a regulator (``cq-eeb``) and once as an enterprise (``cq-pow-01``).
Schemathesis' engine runs as ``schemathesis run`` would: its examples, coverage and
fuzzing phases (stateful testing needs links, which the document does not declare), with
every built-in check (no 5xx; status codes, content types, headers and bodies as
documented; invalid data rejected; valid data accepted; authentication not ignored;
unsupported methods answered 405). It is bounded and reproducible: at most
:data:`MAX_EXAMPLES` generated examples per operation and phase, one worker, a fixed seed.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.python import asgi

from greencircle.api.app import create_app
from tests_support import DEMO_PASSWORD, make_settings

pytestmark = pytest.mark.slow

#: Operations left out, each with the reason: they would log the fuzzer out.
EXCLUDED = {
    ("POST", "/v1/auth/revoke"): "revokes the very token the fuzzer authenticates with",
    ("POST", "/v1/auth/password"): "a changed password invalidates every token issued before",
}

#: Generated examples per operation and phase (the coverage phase adds its boundary cases).
MAX_EXAMPLES = 10
SEED = 20261205

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "workers": 1,
    "cache": {"enabled": False},  # no state carried over from an earlier run
    "generation": {"max-examples": MAX_EXAMPLES},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        # A schema says which requests are well formed, not which ones business rules
        # allow (balances, states, dates, references to rows that exist); those are
        # rejected with 400/422 and an ErrorBody, as documented. Every other check keeps
        # Schemathesis' defaults.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
        },
    },
}


@dataclass
class Run:
    """What one Schemathesis run saw."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{len(self.operations)} operations, {self.cases} cases, {dict(self.statuses)}"]
        lines += [f"FAILED {op} [{check}]\n{text}" for (op, check), text in self.failures.items()]
        lines += [f"ERROR {e}" for e in self.errors]
        return "\n".join(lines)


def fuzz(app: Any, token: str) -> Run:
    """Run Schemathesis against ``app`` with ``token`` and collect what it found."""
    config = SchemathesisConfig.from_dict(
        {**CONFIG, "headers": {"Authorization": f"Bearer {token}"}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path=path)
    run = Run()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            run.operations.add(recorder.label)
            run.cases += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    run.statuses[interaction.response.status_code] += 1
            for nodes in recorder.checks.values():
                for node in nodes:
                    if node.failure_info is not None:
                        f = node.failure_info
                        text = f"{f.failure.title}\n{f.failure.message[:800]}\n{f.code_sample}"
                        run.failures.setdefault((recorder.label, node.name), text)
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.value!r}"[:2000])
        elif isinstance(event, events.FatalError):
            run.errors.append(f"fatal: {event.exception!r}"[:2000])
    return run


@pytest.fixture
def fuzz_app(databases: Any, tmp_path: Path) -> Iterator[Any]:
    """The app on its own demo database, started through Schemathesis' ASGI client."""
    app = create_app(make_settings(databases.new("sqlite", "demo"), tmp_path))
    yield app
    asgi.shutdown_lifespans()
    app.state.engine.dispose()


def documented_operations(app: Any) -> set[str]:
    spec = app.openapi()
    return {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method in ops
        if (method.upper(), path) not in EXCLUDED
    }


@pytest.mark.parametrize("user", ["cq-eeb", "cq-pow-01"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(fuzz_app: Any, user: str) -> None:
    with asgi.get_client(fuzz_app) as client:
        r = client.post("/v1/auth/token", data={"username": user, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = client.get("/v1/auth/me", headers=auth).json()

    run = fuzz(fuzz_app, token)

    with asgi.get_client(fuzz_app) as client:  # the fuzzer did not lock itself out
        after = client.get("/v1/auth/me", headers=auth)
        assert after.status_code == 200, after.text
        assert after.json()["permissions"] == me["permissions"]

    print(run.report().splitlines()[0])
    assert not run.errors and not run.failures, run.report()
    assert run.operations == documented_operations(fuzz_app)
    assert not [s for s in run.statuses if s >= 500]
    # Bounded but not trivial: every operation got examples, and some were accepted.
    assert run.cases >= 5 * len(run.operations)
    assert sum(n for s, n in run.statuses.items() if 200 <= s < 300) > len(run.operations)
