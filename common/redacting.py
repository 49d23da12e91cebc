"""Nothing credential-like is ever printed: environment maps keep their keys but lose their
values, sensitive-looking keys are masked, and every value that was masked is also scrubbed from
free text (a failure reason or API message that echoes it)."""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "***"
_SENSITIVE_KEY = re.compile(r"environment|secret|password|passwd|token|credential|access.?key|api.?key|private", re.I)
_TEXT_PATTERNS = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\b(secret|password|passwd|token|api[_-]?key)(\s*[=:]\s*)([^\s,;\"']+)"),
)


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def learn(self, value: Any) -> None:
        """Remember every value under a sensitive key of an input, so text can be scrubbed of it."""
        self.structure(value)

    def learn_raw_inputs(self, raw_inputs: dict[str, str]) -> None:
        """An input named like a secret holder (`environment`, ...) is a secret as a whole, even
        when it is not valid JSON and so cannot be masked value by value."""
        for name, raw in raw_inputs.items():
            if _SENSITIVE_KEY.search(name.replace("_", "")) and raw and len(raw) >= 3:
                self._secrets.add(raw)
                try:
                    self.structure({name: json.loads(raw)})
                except (ValueError, RecursionError):
                    pass

    def structure(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and _SENSITIVE_KEY.search(key):
                    out[key] = self._mask(item)
                else:
                    out[key] = self.structure(item)
            return out
        if isinstance(value, list):
            return [self.structure(item) for item in value]
        return value

    def _mask(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._mask(item) for item in value]
        if value not in (None, ""):
            text = str(value)
            if len(text) >= 3:
                self._secrets.add(text)
        return MASK

    def text(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        text = _TEXT_PATTERNS[0].sub(MASK, text)
        return _TEXT_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
