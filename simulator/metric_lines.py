"""Log lines that a job's metric definitions parse: SageMaker reads a metric from the training
log by searching each line with the definition's regex and taking its first capture group.

For a definition's regex, the simulator writes a line the regex matches with the value in that
group, built by walking the regex's parse tree (literals as written, the shortest repetition, the
first alternative, a character each class accepts). The line is checked with the regex itself; a
regex it cannot invert (back-references, look-arounds that reject the guess, a group that cannot
hold a decimal number) falls back to the built-in algorithms' style, which the simulator's own
default definitions (`defaults.metric_definitions`) parse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# Python's own regex parser (3.11+; the old `sre_parse` name warns): the parse tree to walk.
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

# Characters tried, in order, for a class that is not a plain literal or range.
_CANDIDATES = " a0_x-.:=/,;#"


class _CannotInvert(Exception):
    pass


def value_text(value: float) -> str:
    return f"{value:.6f}"


def builtin_line(name: str, value: float, *, host: str, where: str) -> str:
    """The k-means style line built-in algorithms write, e.g.
    `#quality_metric: host=algo-1, epoch=2, train loss <score>=0.123456`."""
    channel, _, metric = name.partition(":")
    label = f"{channel} {metric}" if metric else name
    return f"#quality_metric: host={host}, {where}, {label} <score>={value_text(value)}"


def metric_line(definition: Mapping[str, Any] | None, name: str, value: float, *, host: str, where: str) -> str:
    """A line from which `definition`'s regex reads `value` (built-in style without a regex)."""
    regex = str((definition or {}).get("Regex") or "")
    if regex:
        line = invert(regex, value_text(value))
        if line is not None:
            # With the context a training script would print, unless that breaks the match (^).
            for candidate in (f"[{host}] {where}: {line}", line):
                if parses_to(regex, candidate, value):
                    return candidate
    return builtin_line(name, value, host=host, where=where)


def parses_to(regex: str, line: str, value: float) -> bool:
    try:
        found = re.search(regex, line)
    except re.error:
        return False
    if not found or not found.groups() or found.group(1) is None:
        return False
    try:
        return math.isclose(float(found.group(1)), value, rel_tol=1e-6, abs_tol=1e-9)
    except ValueError:
        return False


def invert(regex: str, group_text: str) -> str | None:
    """A string matching `regex` with `group_text` as its first group, or None."""
    try:
        tree = sre_parse.parse(regex)
        return "".join(_walk(tree, group_text))
    except (re.error, _CannotInvert, RecursionError, ValueError, TypeError):
        return None


def _walk(tree: Any, group_text: str) -> list[str]:
    out: list[str] = []
    for op, arg in tree:
        out.append(_node(op, arg, group_text))
    return out


def _node(op: Any, arg: Any, group_text: str) -> str:
    c = sre_constants
    if op is c.LITERAL:
        return chr(arg)
    if op is c.NOT_LITERAL:
        return "x" if arg != ord("x") else "y"
    if op is c.ANY:
        return "x"
    if op is c.AT:
        return ""
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _high, sub = arg
        return "".join(_walk(sub, group_text)) * int(low)
    if op is c.SUBPATTERN:
        group, _add, _del, sub = arg
        if group == 1:
            return group_text
        return "".join(_walk(sub, group_text))
    if op is c.BRANCH:
        _, alternatives = arg
        return "".join(_walk(alternatives[0], group_text))
    if op is c.IN:
        return _member_of(arg)
    if op in (c.ASSERT, c.ASSERT_NOT):
        return ""
    raise _CannotInvert(str(op))


def _member_of(items: Any) -> str:
    c = sre_constants
    negated = bool(items) and items[0][0] is c.NEGATE
    if not negated:
        op, arg = items[0]
        if op is c.LITERAL:
            return chr(arg)
        if op is c.RANGE:
            return chr(arg[0])
    pattern = re.compile(_class_source(items))
    for candidate in _CANDIDATES:
        if pattern.fullmatch(candidate):
            return candidate
    raise _CannotInvert("character class")


def _class_source(items: Any) -> str:
    """Rebuild a character class's source from its parsed items (to test candidates)."""
    c = sre_constants
    parts = []
    categories = {
        c.CATEGORY_DIGIT: r"\d", c.CATEGORY_NOT_DIGIT: r"\D", c.CATEGORY_SPACE: r"\s",
        c.CATEGORY_NOT_SPACE: r"\S", c.CATEGORY_WORD: r"\w", c.CATEGORY_NOT_WORD: r"\W",
    }
    for op, arg in items:
        if op is c.NEGATE:
            parts.append("^")
        elif op is c.LITERAL:
            parts.append(re.escape(chr(arg)))
        elif op is c.RANGE:
            parts.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif op is c.CATEGORY and arg in categories:
            parts.append(categories[arg])
        else:
            raise _CannotInvert("character class item")
    return "[" + "".join(parts) + "]"
