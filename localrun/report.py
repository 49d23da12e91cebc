"""The end of a run: a summary table for people, and a JSON report for scripts and tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.localrun.execute import RunResult

VALUE_WIDTH = 72


def abbreviate(text: str, width: int = VALUE_WIDTH) -> str:
    """One line of at most width characters; the middle goes, since names and URIs end in their
    most telling part (a job name, model.tar.gz)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    head = (width - 3) * 2 // 3
    return flat[:head] + "..." + flat[len(flat) - (width - 3 - head):]


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def summary_lines(result: RunResult) -> list[str]:
    rows: list[tuple[str, str, str, str, list[str]]] = []
    for step in result.steps.values():
        exit_code = "-" if step.exit_code is None or step.exit_code < 0 else str(step.exit_code)
        if step.outputs:
            width = max(len(name) for name in step.outputs)
            details = [f"{name.ljust(width)}  {abbreviate(text)}" for name, text in sorted(step.outputs.items())]
        else:
            details = [abbreviate(step.reason, 100)] if step.reason else []
        rows.append((step.name, step.status, exit_code, _duration(step.duration), details))
    header = ("STEP", "STATUS", "EXIT", "TIME")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(4)] if rows else [len(h) for h in header]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  OUTPUTS"]
    indent = " " * (sum(widths) + 2 * len(widths))
    for row in rows:
        cells = "  ".join(value.ljust(w) for value, w in zip(row[:4], widths))
        details = row[4] or [""]
        lines.append(f"{cells}  {details[0]}".rstrip())
        lines.extend(f"{indent}{detail}" for detail in details[1:])
    return lines


def as_json(result: RunResult, *, pipeline: str, form: str, namespace: str) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "pipeline": pipeline,
        "form": form,
        "namespace": namespace,
        "status": "Succeeded" if result.succeeded else ("Interrupted" if result.interrupted else "Failed"),
        "steps": [
            {
                "name": step.name,
                "status": step.status,
                "exit_code": step.exit_code,
                "duration_seconds": step.duration,
                "reason": step.reason,
                "outputs": step.outputs,
                "attempts": step.attempts,
            }
            for step in result.steps.values()
        ],
    }


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
