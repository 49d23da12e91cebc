"""Read the kube-apiserver's audit log (JSON lines, level Metadata) and count each step's API
requests. Each step runs as its own service account, so a step's requests are exactly those
whose `user.username` is that account; a request appears once per stage (a watch logs
ResponseStarted and ResponseComplete), so requests are counted by distinct auditID.
Pure functions over lines of text; unit-tested."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AuditRecord:
    audit_id: str
    stage: str
    user: str
    user_agent: str
    verb: str
    resource: str
    subresource: str
    namespace: str
    name: str
    received: float  # requestReceivedTimestamp, seconds since the epoch
    code: int  # responseStatus.code; 0 when the stage has none


@dataclass(frozen=True)
class UserRequests:
    """What one user (one step) asked of the API server."""

    count: int
    first_received: float
    by_call: dict[str, int]  # "create trainingjobs" -> 1, "watch trainingjobs" -> 2, ...


def parse_timestamp(text: str) -> float:
    """RFC 3339 with up to nanoseconds, e.g. 2026-11-25T11:55:02.116692Z, to epoch seconds."""
    stamp = text.strip()
    if stamp.endswith("Z"):
        stamp = stamp[:-1] + "+00:00"
    if "." in stamp:
        head, rest = stamp.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        stamp = f"{head}.{(digits + '000000')[:6]}{zone}"
    return datetime.fromisoformat(stamp).timestamp()


def parse_line(line: str) -> AuditRecord | None:
    """One audit event; None for blank, truncated or non-event lines."""
    try:
        event = json.loads(line)
        ref = event.get("objectRef") or {}
        return AuditRecord(
            audit_id=str(event["auditID"]),
            stage=str(event.get("stage", "")),
            user=str((event.get("user") or {}).get("username", "")),
            user_agent=str(event.get("userAgent", "")),
            verb=str(event.get("verb", "")),
            resource=str(ref.get("resource", "")),
            subresource=str(ref.get("subresource", "")),
            namespace=str(ref.get("namespace", "")),
            name=str(ref.get("name", "")),
            received=parse_timestamp(str(event["requestReceivedTimestamp"])),
            code=int((event.get("responseStatus") or {}).get("code") or 0),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def parse_lines(lines: Iterable[str]) -> list[AuditRecord]:
    return [record for line in lines if (record := parse_line(line)) is not None]


def call_label(record: AuditRecord) -> str:
    target = record.resource + (f"/{record.subresource}" if record.subresource else "")
    return f"{record.verb} {target or 'non-resource'}"


def requests_by_user(records: Iterable[AuditRecord], users: set[str] | None = None) -> dict[str, UserRequests]:
    """Distinct requests per user (all users, or only `users`)."""
    seen: dict[str, dict[str, AuditRecord]] = {}
    for record in records:
        if users is not None and record.user not in users:
            continue
        seen.setdefault(record.user, {}).setdefault(record.audit_id, record)
    result = {}
    for user, requests in seen.items():
        calls = Counter(call_label(record) for record in requests.values())
        result[user] = UserRequests(
            count=len(requests),
            first_received=min(record.received for record in requests.values()),
            by_call=dict(sorted(calls.items())),
        )
    return result
