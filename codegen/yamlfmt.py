"""YAML formatting helpers for the generated component.yaml and metadata files.

Values are always emitted by PyYAML (never by string concatenation) so quoting is right
whatever a CRD description contains; only the layout is chosen here.
"""

from __future__ import annotations

from typing import Any

import yaml

_WIDTH = 100


class _Dumper(yaml.SafeDumper):
    """Indents block sequences under their key and never emits aliases."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def block(value: Any) -> str:
    """A value as block-style YAML (keys in insertion order), ending with a newline."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=_WIDTH, allow_unicode=True)


def flow(value: Any) -> str:
    """A value as one line of flow-style YAML (a scalar, `{...}` or `[...]`)."""
    text = yaml.dump(
        value, Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=float("inf"), allow_unicode=True
    )
    text = text.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in text:
        raise ValueError(f"cannot write {value!r} on one line")
    return text
