"""The HTTP front door: one port answering SageMaker, STS and /_sim/.

The controller is given a single endpoint URL for every AWS service, so
requests are told apart by shape: X-Amz-Target means SageMaker JSON (or
CloudWatch Logs JSON, by its `Logs_20140328.` prefix), a form body with
Action= means STS, and /_sim/ is the simulator's own API.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from . import control, logs, sagemaker, sts
from .retries import AnsweredCalls, Answer, attempt_number
from .config import SimulatorConfig
from .errors import ApiError
from .kinds import ALL_KINDS
from .redact import redact
from .state import SimulatorState

log = logging.getLogger("sagemaker_ack_kfp.simulator")

JSON_11 = "application/x-amz-json-1.1"
# SigV4 credential scope: Credential=<key id>/<date>/<region>/<service>/aws4_request
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")
_NAME_FIELDS = tuple(dict.fromkeys(info.name_field for info in ALL_KINDS)) + (
    "ResourceArn", "logStreamName", "logStreamNamePrefix")
# Longest kind first, so DescribeEndpointConfig names an EndpointConfig, not an Endpoint.
_KINDS_BY_LENGTH = sorted(ALL_KINDS, key=lambda info: len(info.kind), reverse=True)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The controller opens a new connection per reconcile; socketserver's backlog of 5 overflows
    # under a burst and the kernel resets connections the server never saw.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.answered = AnsweredCalls()  # see retries.py

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS SDKs expect
    # Headers and body go out in separate writes; without this, Nagle's algorithm
    # meets the client's delayed ACK and every response waits ~40 ms.
    disable_nagle_algorithm = True
    server: SimulatorServer
    _replayed = False  # this request got an earlier attempt's answer (retries.py)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # replaced by the one-line summary in _dispatch

    def _dispatch(self) -> None:
        started = time.monotonic()
        self._replayed = False
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        target = self.headers.get("X-Amz-Target")
        if url.path.startswith(control.PREFIX):
            label, status = url.path, self._control(url.path, url.query, raw)
        elif target:
            label, status = target, self._sagemaker(target, raw)
        elif (action := sts.action(raw) or sts.action(url.query)) is not None:
            label, status = f"STS.{action}", self._sts(action)
        else:
            label, status = url.path, self._json(404, {"error": "not a SageMaker, STS or /_sim/ request"})
        elapsed = (time.monotonic() - started) * 1000
        # host:port names the client's connection and the SDK's attempt header marks its retries,
        # so a request the client sent again after an answered attempt shows as such.
        log.info("%s:%s %s %s%s -> %d (%.1f ms)%s%s", self.client_address[0], self.client_address[1], self.command,
                 label, _subject(target or "", raw), status, elapsed, _retry_note(self.headers.get("amz-sdk-request")),
                 " (the earlier attempt's answer, again)" if self._replayed else "")
        if log.isEnabledFor(logging.DEBUG) and target:
            log.debug("request body: %s", _loggable(raw))

    def _sagemaker(self, target: str, raw: bytes) -> int:
        invocation = self.headers.get("amz-sdk-invocation-id")
        attempt = attempt_number(self.headers.get("amz-sdk-request"))
        earlier = self.server.answered.earlier_answer(invocation, target, attempt)
        if earlier is not None:
            self._replayed = True
            return self._write(earlier.status, earlier.body, JSON_11, {})
        service = logs if target.startswith(logs.TARGET_PREFIX) else sagemaker
        try:
            result = service.handle(self.server.state, target, raw, self._region())
        except ApiError as error:
            return self._send(error.status, {"__type": error.code, "message": error.message},
                              JSON_11, {"X-Amzn-ErrorType": error.code})
        except Exception:  # a simulator bug must not look like a hung endpoint
            log.exception("internal error handling %s", target)
            return self._send(500, {"__type": "InternalFailure", "message": "simulator internal error"},
                              JSON_11, {"X-Amzn-ErrorType": "InternalFailure"})
        answer = Answer(200, json.dumps(result).encode())
        self.server.answered.remember(invocation, target, answer)
        return self._write(answer.status, answer.body, JSON_11, {})

    def _sts(self, action: str) -> int:
        with self.server.state.lock:
            self.server.state.calls[action] += 1
        status, document = sts.handle(self.server.state.config, action)
        return self._write(status, document.encode(), "text/xml", {})

    def _control(self, path: str, query: str, raw: bytes) -> int:
        status, payload = control.handle(self.server.state, self.command, path, parse_qs(query), raw)
        return self._json(status, payload)

    def _json(self, status: int, payload: Any) -> int:
        return self._send(status, payload, "application/json")

    def _send(self, status: int, payload: Any, content_type: str, headers: dict[str, str] | None = None) -> int:
        return self._write(status, json.dumps(payload).encode(), content_type, headers or {})

    def _write(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> int:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _region(self) -> str:
        match = _SCOPE.search(self.headers.get("Authorization") or "")
        return match.group(1) if match else self.server.state.config.default_region


def _subject(target: str, raw: bytes) -> str:
    """The resource a request is about, for the log line; never any other body content. The
    operation's own kind decides which name it is: CreateTransformJob also carries a ModelName."""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    operation = target.rpartition(".")[2]
    own = next((info.name_field for info in _KINDS_BY_LENGTH if operation.endswith(info.kind)), None)
    fields = (own,) if own else _NAME_FIELDS
    name = next((body[f] for f in fields if isinstance(body.get(f), str)), None)
    return f" {name}" if name else ""


def _retry_note(sdk_request: str | None) -> str:
    """`" [attempt=2; max=3]"` when an AWS SDK v2 client says this is a retry, else ""."""
    return f" [{sdk_request}]" if attempt_number(sdk_request) > 1 else ""


def _loggable(raw: bytes) -> str:
    try:
        return json.dumps(redact(json.loads(raw)))
    except ValueError:
        return "<unparseable body>"


def start_server(host: str = "127.0.0.1", port: int = 0, *, phase_seconds: float | None = None,
                 config: SimulatorConfig | None = None,
                 state: SimulatorState | None = None) -> tuple[SimulatorServer, threading.Thread]:
    """Serve in a background thread; port 0 picks a free port (see `server.url`)."""
    if state is None:
        config = config or SimulatorConfig()
        if phase_seconds is not None:
            config = replace(config, phase_seconds=phase_seconds)
        state = SimulatorState(config)
    server = SimulatorServer((host, port), state)
    # A short poll interval keeps shutdown() fast; an idle loop costs nothing noticeable.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="sagemaker-simulator", daemon=True)
    thread.start()
    return server, thread


@contextmanager
def running_simulator(host: str = "127.0.0.1", port: int = 0, *, phase_seconds: float | None = None,
                      config: SimulatorConfig | None = None) -> Iterator[SimulatorServer]:
    server, thread = start_server(host, port, phase_seconds=phase_seconds, config=config)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
