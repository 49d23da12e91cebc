"""Everything the runner prints goes through here: one lock (steps log from several threads) and
one Redactor (a step's environment maps and secret-looking values never reach the terminal)."""

from __future__ import annotations

import json
import sys
import threading
from itertools import pairwise
from typing import Any, TextIO

from sagemaker_ack_kfp.redacting import MASK, Redactor


def _json_value(text: str) -> Any:
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    return None


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._redactor = Redactor()

    # ----- what must never be shown -------------------------------------------------------
    def learn(self, value: Any) -> None:
        with self._lock:
            self._redactor.learn(value)

    def learn_argv(self, argv: list[str]) -> None:
        """Remember the secrets in a step's `--name value` pairs (JSON values are walked)."""
        for flag, value in pairwise(argv):
            if flag.startswith("--"):
                parsed = _json_value(value)
                self.learn({flag.lstrip("-"): value if parsed is None else parsed})

    def redact(self, text: str) -> str:
        with self._lock:
            return self._redactor.text(text)

    def redact_structure(self, value: Any) -> Any:
        with self._lock:
            return self._redactor.structure(value)

    def shown_argv(self, argv: list[str]) -> list[str]:
        """argv as it may be printed: environment maps and sensitive flags masked."""
        shown = list(argv)
        for index in range(1, len(argv)):
            flag = argv[index - 1]
            if not flag.startswith("--"):
                continue
            parsed = _json_value(argv[index])
            masked = self.redact_structure({flag.lstrip("-"): argv[index] if parsed is None else parsed})
            value = next(iter(masked.values()))
            if value == MASK or parsed is not None:
                shown[index] = value if isinstance(value, str) else json.dumps(value)
        return [self.redact(part) for part in shown]

    # ----- printing ----------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        self._write(text)

    def step(self, task: str, text: str) -> None:
        self._write(f"[{task}] {text}")

    def _write(self, text: str) -> None:
        clean = self.redact(text)
        with self._lock:
            self._stream.write(clean + "\n")
            self._stream.flush()
