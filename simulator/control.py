"""The /_sim/ inspection and control API: plain JSON for tests and the CLI."""

from __future__ import annotations

import json
from typing import Any, Callable

from . import logs_faults
from .kinds import ALL_KINDS, BY_KIND
from .resource import Resource
from .sagemaker import advance
from .state import SimulatorState

PREFIX = "/_sim/"
Reply = tuple[int, Any]


def handle(state: SimulatorState, method: str, path: str,
           query: dict[str, list[str]], body: bytes) -> Reply:
    route = path[len(PREFIX):].strip("/")
    endpoint = _ROUTES.get(route)
    if endpoint is None:
        return 404, {"error": f"no such simulator endpoint: {path}"}
    allowed, function = endpoint
    if method != allowed:
        return 405, {"error": f"{path} expects {allowed}"}
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return 400, {"error": f"body is not JSON: {exc}"}
    return function(state, query, payload)


def _health(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    return 200, {"ok": True}


def _resources(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    kind = query["kind"][0] if query.get("kind") else None
    if kind is not None and kind not in BY_KIND:
        return 400, {"error": f"unknown kind {kind!r}; known: {sorted(BY_KIND)}"}
    with state.lock:
        now = state.now()
        advance(state, now)
        listing: dict[str, list[dict[str, Any]]] = {
            info.kind: [] for info in ALL_KINDS if kind in (None, info.kind)}
        for resource in sorted(state.resources(kind), key=lambda r: (r.created, r.name)):
            listing[resource.kind].append(_entry(resource, now))
    return 200, listing


def _entry(resource: Resource, now: float) -> dict[str, Any]:
    return {
        "name": resource.name,
        "arn": resource.arn,
        "region": resource.region,
        "status": resource.status(now),
        "created": resource.created,
        "tags": dict(resource.tags),
        "parent": resource.parent,
    }


def _calls(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    with state.lock:
        return 200, {"calls": dict(state.calls), "throttled": dict(state.throttled),
                     "pending_throttles": state.pending_throttles}


def _reset_calls(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    with state.lock:
        state.reset_calls()
    return 200, {"ok": True}


def _throttle(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    count = payload.get("count") if isinstance(payload, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return 400, {"error": 'expected {"count": <non-negative integer>}'}
    with state.lock:
        state.add_throttles(count)
        return 200, {"pending_throttles": state.pending_throttles}


def _reset(state: SimulatorState, query: dict[str, list[str]], payload: Any) -> Reply:
    with state.lock:
        state.reset()
    return 200, {"ok": True}


_ROUTES: dict[str, tuple[str, Callable[[SimulatorState, dict[str, list[str]], Any], Reply]]] = {
    "health": ("GET", _health),
    "resources": ("GET", _resources),
    "calls": ("GET", _calls),
    "calls/reset": ("POST", _reset_calls),
    "throttle": ("POST", _throttle),
    "reset": ("POST", _reset),
    **logs_faults.ROUTES,
}
