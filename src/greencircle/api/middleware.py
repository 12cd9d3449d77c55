"""ASGI middleware owning the unit of work, body limits and ``Idempotency-Key`` replays.

One database session per request is opened here and put in ``scope["state"]``; it is
closed, and removed from there, when the request ends, whatever happened. For a
mutating request (POST, PUT, PATCH, DELETE) the whole response is buffered; the
transaction commits only when the response is a success, and the idempotency record of
that success is written **in the same transaction** as the effects, and so is one generic
row of the audit trail (:func:`request_event`: who, organisation, method, route template,
target ids, status; the time is the row's). Two concurrent
requests with the same key therefore cannot both take effect: the second one's insert
of the record violates the primary key, its transaction is rolled back, and it answers
with the first one's stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from greencircle.auth.models import AccessEvent
from greencircle.kit.text import find_unsafe_in
from greencircle.storage.idempotency import IdempotencyRecord

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 200


def _json_message(status: int, code: str, detail: Any) -> tuple[list[Message], int]:
    body = json.dumps({"error": code, "detail": detail}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return [start, {"type": "http.response.body", "body": body}], status


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class UnitOfWorkMiddleware:
    """Per-request session, request-size limit and idempotent replays.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    session_factory
        Creates the request's session.
    max_body_bytes
        Larger bodies are refused with 413 ``payload_too_large`` [bytes].
    token_secret
        Used only to read the ``sub`` of a bearer token, which scopes idempotency keys
        per user (authentication itself is done by the endpoint dependencies).
    """

    def __init__(
        self,
        app: ASGIApp,
        session_factory: sessionmaker[Session],
        max_body_bytes: int,
        token_secret: str,
    ) -> None:
        self.app = app
        self.session_factory = session_factory
        self.max_body_bytes = max_body_bytes
        self.token_secret = token_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await self._read_body(scope, receive)
        if body is None:
            messages, _ = _json_message(
                413, "payload_too_large", f"request body exceeds {self.max_body_bytes} bytes"
            )
            for m in messages:
                await send(m)
            return
        if scope["method"] in MUTATING and (bad := _unsafe_text(scope, body)) is not None:
            messages, _ = _json_message(
                422,
                "invalid_text",
                f"{bad[0]} contains a control or formatting character ({bad[1]})",
            )
            await _send_all(send, messages)
            return
        # The session lives exactly as long as this call. Once closed it refuses further
        # use (``close_resets_only=False``) and leaves the request state: an error handler
        # running outside this middleware (Starlette's handler for unexpected exceptions
        # sits outermost) must not reopen it, because on SQLite the new transaction's
        # BEGIN IMMEDIATE would hold the write lock until the object is garbage collected
        # and every later writer would wait out its busy timeout.
        session = self.session_factory(close_resets_only=False)
        state = scope.setdefault("state", {})
        state["session"] = session
        try:
            if scope["method"] in MUTATING:
                await self._mutating(scope, body, session, receive, send)
            else:
                await self.app(scope, _replay(body, receive), send)
        finally:
            state.pop("session", None)
            await anyio.to_thread.run_sync(_close, session)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _principal(self, scope: Scope) -> str:
        auth = _header(scope, b"authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or (_header(scope, b"x-api-key") or "")
        if not token:
            cookie = _header(scope, b"cookie") or ""
            for part in cookie.split(";"):
                name, _, value = part.strip().partition("=")
                if name == "gc_session":
                    token = value
        if token.startswith("gck_"):
            return "key:" + token.split("_")[1][:40]
        if token:
            try:
                claims = jwt.decode(
                    token, self.token_secret, algorithms=["HS256"], options={"verify_exp": False}
                )
                return "user:" + str(claims.get("sub", ""))[:60]
            except jwt.PyJWTError:
                return "invalid"
        return "anonymous"

    async def _mutating(
        self, scope: Scope, body: bytes, session: Session, receive: Receive, send: Send
    ) -> None:
        key = _header(scope, b"idempotency-key")
        record: IdempotencyRecord | None = None
        if key is not None:
            if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
                messages, _ = _json_message(
                    400,
                    "invalid_idempotency_key",
                    f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters",
                )
                for m in messages:
                    await send(m)
                return
            digest = hashlib.sha256()
            for part in (scope["method"], scope["path"], scope.get("query_string", b"")):
                digest.update(part if isinstance(part, bytes) else part.encode())
                digest.update(b"\x00")
            digest.update(body)
            record = IdempotencyRecord(
                principal=self._principal(scope),
                key=key,
                method=scope["method"],
                path=scope["path"][:500],
                request_sha256=digest.hexdigest(),
            )
            stored = await anyio.to_thread.run_sync(_find, session, record)
            if stored is not None:
                await _send_all(send, _replay_messages(stored, record))
                return

        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        try:
            await self.app(scope, _replay(body, receive), capture)
        except BaseException:
            await anyio.to_thread.run_sync(session.rollback)
            raise
        start = next((m for m in captured if m["type"] == "http.response.start"), None)
        status = int(start["status"]) if start else 500
        if start is not None and status < 400:
            # Successes and redirects (console form posts) commit; the stored replay of a
            # keyed request keeps status, content type and body, so keys are honoured for
            # 2xx answers only.
            if record is not None and status < 300:
                record.status_code = status
                record.content_type = _content_type(start)
                record.response_body = b"".join(
                    m.get("body", b"") for m in captured if m["type"] == "http.response.body"
                )
            else:
                record = None
            event = request_event(scope, status)
            try:
                await anyio.to_thread.run_sync(_commit, session, record, event)
            except IntegrityError:
                await anyio.to_thread.run_sync(session.rollback)
                if record is None:
                    raise
                stored = await anyio.to_thread.run_sync(_find, session, record)
                if stored is None:
                    raise
                await _send_all(send, _replay_messages(stored, record))
                return
        else:
            await anyio.to_thread.run_sync(session.rollback)
            # A concurrent twin may have committed first; its answer is the answer.
            twin = await anyio.to_thread.run_sync(_find, session, record) if record else None
            if twin is not None and record is not None:
                await _send_all(send, _replay_messages(twin, record))
                return
        await _send_all(send, captured)


def _unsafe_text(scope: Scope, body: bytes) -> tuple[str, str] | None:
    """One rule for every text a client sends (JSON and form bodies).

    NUL bytes, other control characters (tab, CR and LF excepted) and format characters
    such as bidi overrides are refused before any endpoint runs, so no domain can store or
    echo them (:mod:`greencircle.kit.text`). Undecodable or non-JSON bodies are left to
    the endpoint's own parsing, which answers ``malformed_json`` or a validation error.
    """
    if not body:
        return None
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            return find_unsafe_in(json.loads(body))
        if content_type == "application/x-www-form-urlencoded":
            fields: dict[str, list[str]] = {}
            for key, value in parse_qsl(body.decode(), keep_blank_values=True):
                fields.setdefault(key, []).append(value)
            return find_unsafe_in(fields)
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body to the app, then pass on the real channel.

    Later calls wait on the client's channel, so a streaming response that listens for
    ``http.disconnect`` is not cut off early.
    """
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


def _content_type(start: Message) -> str:
    for key, value in start.get("headers", []):
        if key.lower() == b"content-type":
            return bytes(value).decode("latin-1")[:100]
    return "application/octet-stream"


@dataclass(frozen=True)
class _Stored:
    request_sha256: str
    status_code: int
    content_type: str
    response_body: bytes


def _find(session: Session, record: IdempotencyRecord) -> _Stored | None:
    stmt = select(
        IdempotencyRecord.request_sha256,
        IdempotencyRecord.status_code,
        IdempotencyRecord.content_type,
        IdempotencyRecord.response_body,
    ).where(IdempotencyRecord.principal == record.principal, IdempotencyRecord.key == record.key)
    row = session.execute(stmt).first()
    session.rollback()
    return _Stored(*row) if row is not None else None


def _replay_messages(stored: _Stored, request: IdempotencyRecord) -> list[Message]:
    if stored.request_sha256 != request.request_sha256:
        messages, _ = _json_message(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        )
        return messages
    body = stored.response_body
    return [
        {
            "type": "http.response.start",
            "status": stored.status_code,
            "headers": [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode()),
                (b"idempotent-replayed", b"true"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def request_event(scope: Scope, status: int) -> AccessEvent:
    """The audit-trail row of one successful mutating request.

    The actor is the one the endpoint authenticated (``request.state.actor``; none for a
    login); the route is the template (``/v1/organisations/{org_id}``), its parameters
    the target ids, the last of them the ``target_id``. The row is about the target
    organisation when the route names one (``org_id``), else about the actor's own, so
    the access log shows it to the same people as the domain's own events.
    """
    state = scope.get("state") or {}
    actor = state.get("actor")
    route = scope.get("route")
    template = _printable(str(getattr(route, "path", "") or scope["path"]))[:300]
    params = {str(k): _printable(str(v))[:80] for k, v in (scope.get("path_params") or {}).items()}
    org_param = params.get("org_id", "")
    actor_org = getattr(actor, "org_id", None)
    return AccessEvent(
        actor_user_id=getattr(actor, "user_id", None),
        actor_org_id=actor_org,
        action=f"request.{scope['method'].lower()}",
        target_type="route",
        target_id=(list(params.values())[-1] if params else "")[:64],
        target_org_id=org_param if 0 < len(org_param) <= 26 else actor_org,
        detail={
            "method": scope["method"],
            "route": template,
            "params": params,
            "status": status,
        },
    )


def _printable(text: str) -> str:
    # a path parameter is whatever the client sent; PostgreSQL text refuses NUL
    return "".join(ch for ch in text if ch.isprintable())


def _commit(session: Session, record: IdempotencyRecord | None, event: AccessEvent) -> None:
    if record is not None:
        session.add(record)
    session.add(event)
    session.commit()


def _close(session: Session) -> None:
    session.rollback()
    session.close()
