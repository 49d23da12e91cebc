"""Keep secrets out of logs.

Environment maps routinely carry credentials and tokens, so they are never
printed, at any nesting depth; nor is anything whose key looks secret.
"""

from __future__ import annotations

from typing import Any

MASK = "<redacted>"
_SECRET_KEYS = ("environment",)
_SECRET_WORDS = ("password", "secret", "token", "credential")


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if _is_secret(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _is_secret(key: Any) -> bool:
    lowered = str(key).lower()
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)
