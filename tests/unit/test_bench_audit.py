"""Counting each step's API requests from the kube-apiserver's audit log."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from benchmarks.audit import call_label, parse_line, parse_lines, parse_timestamp, requests_by_user

STEP = "system:serviceaccount:bench-1:ours-main-00"
OTHER = "system:serviceaccount:bench-1:ours-main-01"
CONTROLLER = "system:serviceaccount:ack-system:ack-sagemaker-controller"


def event(audit_id: str, verb: str, *, user: str = STEP, stage: str = "ResponseComplete",
          received: str = "2026-11-25T11:55:02.116692Z", subresource: str = "", code: int | None = 200) -> str:
    ref: dict[str, Any] = {
        "resource": "trainingjobs", "namespace": "bench-1", "name": "training-main0-0123456789",
        "apiGroup": "sagemaker.services.k8s.aws", "apiVersion": "v1alpha1",
    }
    if subresource:
        ref["subresource"] = subresource
    body: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": audit_id,
        "stage": stage, "requestURI": "/apis/sagemaker.services.k8s.aws/v1alpha1/namespaces/bench-1/trainingjobs",
        "verb": verb, "user": {"username": user, "groups": ["system:serviceaccounts"]},
        "sourceIPs": ["127.0.0.1"], "userAgent": "OpenAPI-Generator/35.0.0/python", "objectRef": ref,
        "requestReceivedTimestamp": received, "stageTimestamp": received,
    }
    if code is not None:
        body["responseStatus"] = {"metadata": {}, "code": code}
    return json.dumps(body)


def test_parse_timestamp_handles_micro_and_nanoseconds() -> None:
    expected = datetime(2026, 11, 25, 11, 55, 2, 116692, tzinfo=timezone.utc).timestamp()
    assert parse_timestamp("2026-11-25T11:55:02.116692Z") == pytest.approx(expected)
    assert parse_timestamp("2026-11-25T11:55:02.116692123Z") == pytest.approx(expected)
    assert parse_timestamp("2026-11-25T11:55:02.1Z") == pytest.approx(expected - 0.016692)
    assert parse_timestamp("2026-11-25T11:55:02Z") == pytest.approx(expected - 0.116692)


def test_parse_line_reads_the_fields_a_count_needs() -> None:
    record = parse_line(event("a1", "patch", user=CONTROLLER, subresource="status", code=409))
    assert record is not None
    assert (record.audit_id, record.user, record.verb, record.resource, record.subresource) == (
        "a1", CONTROLLER, "patch", "trainingjobs", "status",
    )
    assert (record.namespace, record.name, record.code, record.stage) == (
        "bench-1", "training-main0-0123456789", 409, "ResponseComplete",
    )
    assert call_label(record) == "patch trainingjobs/status"


@pytest.mark.parametrize("line", ["", "not json", '{"kind": "Event"}', '{"auditID": "x"}', "[1, 2]", '{"auditID": "x", "requestRec'])
def test_parse_line_skips_what_is_not_an_event(line: str) -> None:
    assert parse_line(line) is None


def test_a_watch_logged_at_two_stages_is_one_request() -> None:
    lines = [
        event("c1", "create"),
        event("g1", "get"),
        event("w1", "watch", stage="ResponseStarted", code=200),
        event("w1", "watch", stage="ResponseComplete", received="2026-11-25T11:55:02.116692Z"),
    ]
    counts = requests_by_user(parse_lines(lines))
    assert counts[STEP].count == 3
    assert counts[STEP].by_call == {"create trainingjobs": 1, "get trainingjobs": 1, "watch trainingjobs": 1}


def test_requests_are_counted_per_user_and_only_for_the_users_asked() -> None:
    lines = [
        event("s1", "create", received="2026-11-25T11:55:03.000000Z"),
        event("s2", "get", received="2026-11-25T11:55:02.500000Z"),
        event("o1", "create", user=OTHER),
        event("k1", "get", user=CONTROLLER),
        event("k2", "patch", user=CONTROLLER, subresource="status"),
        "garbage line",
    ]
    counts = requests_by_user(parse_lines(lines), {STEP, OTHER})
    assert set(counts) == {STEP, OTHER}
    assert counts[STEP].count == 2 and counts[OTHER].count == 1
    assert counts[STEP].first_received == pytest.approx(parse_timestamp("2026-11-25T11:55:02.5Z"))
    assert requests_by_user(parse_lines(lines))[CONTROLLER].by_call == {"get trainingjobs": 1, "patch trainingjobs/status": 1}
