"""A TLS proxy in front of the real API server, for the faults a test cannot provoke in the
server itself on demand: it answers chosen requests with a 429 or 5xx of its own (as an
overloaded server or a load balancer in front of it does), or holds them unanswered; every other
request passes through to the real API server unchanged. Each request gets its own connection
(the proxy asks the server to close after answering), so every request is seen.

    with FaultProxy(cluster) as proxy:
        proxy.answer(429, count=2, match=lambda method, path: "watch=true" in path, retry_after=1)
        step = ComponentStep(..., kubeconfig=proxy.kubeconfig(tmp_path / "kubeconfig"))
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.support.cluster import Cluster

Match = Callable[[str, str], bool]
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


@dataclass
class _Rule:
    match: Match
    remaining: int
    status: int = 0  # answer with this status, or...
    hold: threading.Event | None = None  # ...hold until released, then close without an answer
    retry_after: float | None = None


@dataclass
class Seen:
    at: float  # time.monotonic()
    method: str
    path: str
    outcome: str  # "passed", "answered 429", "held"


@dataclass
class FaultProxy:
    cluster: Cluster
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.cluster.stack is not None, "the proxy needs the local stack's certificates"
        pki = self.cluster.stack.layout.pki
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
        self._client_tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        upstream = urlsplit(self.cluster.server)
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 443)
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for rule in self._rules:
                if rule.hold is not None:
                    rule.hold.set()
        self._listener.close()

    # ----- what to do ----------------------------------------------------------------------
    def answer(self, status: int, *, count: int, match: Match, retry_after: float | None = None) -> None:
        """Answer the next `count` matching requests with `status` (and Retry-After, if given)."""
        with self._lock:
            self._rules.append(_Rule(match, count, status=status, retry_after=retry_after))

    def hold(self, *, match: Match, count: int = 1) -> threading.Event:
        """Hold the next `count` matching requests unanswered; set the returned event to drop them
        (the connection closes; the request never reaches the API server)."""
        release = threading.Event()
        with self._lock:
            self._rules.append(_Rule(match, count, hold=release))
        return release

    def kubeconfig(self, path: Path) -> Path:
        """A copy of the cluster's kubeconfig that goes through the proxy."""
        data = yaml.safe_load(self.cluster.kubeconfig.read_text())
        for entry in data["clusters"]:
            entry["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        path.write_text(yaml.safe_dump(data))
        path.chmod(0o600)
        return path

    def requests(self, match: Match) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if match(seen.method, seen.path)]

    # ----- serving -------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _rule_for(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.match(method, path):
                    rule.remaining -= 1
                    return rule
        return None

    def _record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.seen.append(Seen(time.monotonic(), method, path, outcome))

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self._server_tls.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with client:
            head, rest = _read_head(client)
            if not head:
                return
            method, path = _request_line(head)
            rule = self._rule_for(method, path)
            if rule is not None and rule.hold is not None:
                self._record(method, path, "held")
                rule.hold.wait()
                return
            if rule is not None:
                _body(client, head, rest)  # read it all: closing on an unread body resets the connection
                self._record(method, path, f"answered {rule.status}")
                client.sendall(_status_response(rule.status, rule.retry_after))
                return
            self._record(method, path, "passed")
            self._pass_through(client, head, rest)

    def _pass_through(self, client: ssl.SSLSocket, head: bytes, rest: bytes) -> None:
        try:
            upstream = self._client_tls.wrap_socket(
                socket.create_connection(self._upstream, timeout=30), server_hostname=self._upstream[0])
        except OSError:
            client.sendall(_status_response(502, None))
            return
        upstream.settimeout(None)
        with upstream:
            # The whole request first, then the answer: one request per connection, so nothing more
            # comes from the client (and no two threads use one TLS socket at once).
            upstream.sendall(_connection_close(head) + _body(client, head, rest))
            try:
                while chunk := upstream.recv(65536):
                    client.sendall(chunk)
            except OSError:
                pass


def _read_head(sock: ssl.SSLSocket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return b"", b""
        if not chunk:
            return b"", b""
        data += chunk
        if len(data) > 1 << 20:
            return b"", b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def _body(sock: ssl.SSLSocket, head: bytes, rest: bytes) -> bytes:
    """The request's body (by its Content-Length; the Kubernetes client sends no chunked bodies)."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest


def _request_line(head: bytes) -> tuple[str, str]:
    method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return method, path


def _connection_close(head: bytes) -> bytes:
    lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _status_response(status: int, retry_after: float | None) -> bytes:
    body: dict[str, Any] = {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": status,
        "message": f"injected by the test's proxy: {_REASONS.get(status, 'error')}",
        "reason": "TooManyRequests" if status == 429 else "ServiceUnavailable",
    }
    payload = json.dumps(body).encode()
    headers = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", "Content-Type: application/json",
               f"Content-Length: {len(payload)}", "Connection: close"]
    if retry_after is not None:
        headers.append(f"Retry-After: {retry_after:g}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload
