"""Answers to AWS SDK retries of a call the simulator already answered.

The Go SDK (aws-sdk-go-v2) marks every attempt of one operation with the same
`amz-sdk-invocation-id` and counts them in `amz-sdk-request: attempt=N`. On
loopback, a 200 can reach the client before its own net/http write loop has
finished with the request; the transport then closes the connection under the
body being read, and the SDK retries a call the server already carried out
(aws/aws-sdk-go-v2#2737). Over a real network the answer arrives long after the
write loop is done, so SageMaker never sees that retry. The controller would
otherwise get "Cannot create already existing ..." for its own create and mark
the resource Terminal, which is a loopback artefact, not SageMaker behaviour.

So a retried attempt of a mutating call whose earlier attempt was answered
successfully gets that same answer again, and nothing is done twice. Reads are
always answered afresh; failed attempts are not remembered (a throttled or
rejected call is retried for real).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

# Operations that only read: a retry of one is simply answered again.
_READ_PREFIXES = ("Describe", "List", "Get", "Search", "Filter")
# Enough for every call in flight; an SDK retries within seconds.
CAPACITY = 4096


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def attempt_number(sdk_request: str | None) -> int:
    """N from `attempt=N; max=M`; 1 when the header is absent or unreadable."""
    for part in (sdk_request or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return 1


def is_mutating(target: str) -> bool:
    return not target.rpartition(".")[2].startswith(_READ_PREFIXES)


class AnsweredCalls:
    """The successful answers of recent mutating calls, by SDK invocation id (bounded)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._answers: OrderedDict[tuple[str, str], Answer] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, invocation_id: str | None, target: str, answer: Answer) -> None:
        if not invocation_id or not is_mutating(target) or not 200 <= answer.status < 300:
            return
        with self._lock:
            self._answers[(invocation_id, target)] = answer
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)

    def earlier_answer(self, invocation_id: str | None, target: str, attempt: int) -> Answer | None:
        """The answer an earlier attempt of this very call got, if this is a retry of one."""
        if not invocation_id or attempt <= 1:
            return None
        with self._lock:
            return self._answers.get((invocation_id, target))
