"""Progress for people watching a long step: one timestamped line per status change, console
links once, the job's own log lines (prefixed with their log stream), no CR dumps, everything
passed through the redactor. Safe to call from the log follower's thread."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO
from urllib.parse import quote

from sagemaker_ack_kfp.completion import RECOVERABLE, SYNCED, KindRules, conditions, waiting_to_modify
from sagemaker_ack_kfp.redacting import Redactor


def console_links(rules: KindRules, *, name: str, region: str) -> list[str]:
    base = f"https://{region}.console.aws.amazon.com"
    links = []
    if rules.console_fragment:
        page = f"{base}/sagemaker/{rules.console_page}?region={region}"
        links.append(f"SageMaker console: {page}#/{rules.console_fragment.format(name=name)}")
    if rules.log_group:
        group = quote(quote(rules.log_group, safe=""), safe="").replace("%", "$")
        links.append(
            f"CloudWatch logs:   {base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}"
            f"/log-events$3FlogStreamNameFilter$3D{name}"
        )
    return links


class Progress:
    def __init__(self, *, redactor: Redactor, stream: TextIO | None = None) -> None:
        self.redactor = redactor
        self.stream = stream or sys.stdout
        self._last: tuple[Any, ...] | None = None
        self._last_recoverable = ""
        self._last_note = ""
        self._lock = threading.Lock()  # whole lines, whichever thread prints them

    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._print(f"{stamp} {self.redactor.text(message)}")

    def log_line(self, source: str, line: str) -> None:
        """One line of the job's own log, as `[algo-1-1700000000] ...` (it carries its own times)."""
        self._print(self.redactor.text(f"[{source}] {line}"))

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def update(self, obj: dict[str, Any], rules: KindRules) -> None:
        status = obj.get("status") or {}
        conds = conditions(obj)
        synced = (conds.get(SYNCED) or {}).get("status", "")
        value = status.get(rules.status_field) if rules.status_field else None
        secondary = status.get(rules.secondary_field) if rules.secondary_field else None
        key = (value, secondary, synced)
        if key != self._last:
            self._last = key
            parts = [str(value or "no status yet")]
            if secondary:
                parts.append(f"({secondary})")
            if synced:
                parts.append(f"synced={synced}")
            self.say(f"{rules.kind} {obj['metadata']['name']}: {' '.join(parts)}")
        note = rules.progress_note(obj) if rules.progress_note else ""
        if note and note != self._last_note:
            self.say(f"{rules.kind} {obj['metadata']['name']}: {note}")
        self._last_note = note
        recoverable = conds.get(RECOVERABLE) or {}
        message = str(recoverable.get("message") or "") if recoverable.get("status") == "True" else ""
        if message and message != self._last_recoverable:
            if waiting_to_modify(message):
                self.say(f"{rules.kind} {obj['metadata']['name']}: the controller waits for SageMaker: {message}")
            else:
                self.say(f"{rules.kind} {obj['metadata']['name']}: the controller is retrying: {message}")
        self._last_recoverable = message
