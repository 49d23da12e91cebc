"""Targets, the side-by-side table (ours vs baseline) and the README's results section.
Pure functions of the results dictionary that run.py writes; unit-tested."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

README_BEGIN = "<!-- bench-results:begin -->"
README_END = "<!-- bench-results:end -->"

Metrics = dict[str, Any]


@dataclass(frozen=True)
class Target:
    key: str
    goal: str
    passed: Callable[[Metrics], bool]


def _get(metrics: Metrics, *path: str) -> Any:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return math.nan
        value = value[key]
    return value


def _le(value: Any, limit: float) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value) and value <= limit


def _requests_ok(metrics: Metrics) -> bool:
    short, long = _get(metrics, "ours", "requests_short", "max"), _get(metrics, "ours", "requests_long", "max")
    # Flat: a job ten times longer costs at most one request more (see README, "Method").
    return _le(short, 10) and _le(long, 10) and _le(long - short, 1)


def _concurrent_ok(metrics: Metrics) -> bool:
    concurrent = metrics.get("concurrent") or {}
    all_ok = concurrent.get("steps", 0) > 0 and concurrent.get("succeeded") == concurrent.get("steps")
    return bool(all_ok) and _le(_get(concurrent, "overhead_seconds", "p95"), 5.0)


TARGETS = (
    Target("overhead", "p50 <= 1.5 s", lambda m: _le(_get(m, "ours", "overhead_seconds", "p50"), 1.5)),
    Target("detection", "p95 <= 0.5 s", lambda m: _le(_get(m, "ours", "detection_seconds", "p95"), 0.5)),
    Target("requests", "<= 10, flat in job length", _requests_ok),
    Target("rss", "<= 100 MB", lambda m: _le(_get(m, "ours", "max_rss_mb", "max"), 100)),
    Target("concurrent", "all succeed, overhead p95 <= 5 s", _concurrent_ok),
)


def evaluate(metrics: Metrics) -> dict[str, bool]:
    return {target.key: target.passed(metrics) for target in TARGETS}


def _num(value: Any, digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def _pair(metrics: Metrics, flavour: str, key: str, first: str = "p50", second: str = "p95", digits: int = 2) -> str:
    summary = _get(metrics, flavour, key)
    if not isinstance(summary, dict) or not summary.get("n"):
        return "—"
    return f"{_num(summary.get(first), digits)} / {_num(summary.get(second), digits)}"


def _range(metrics: Metrics, flavour: str, key: str) -> str:
    summary = _get(metrics, flavour, key)
    if not isinstance(summary, dict) or not summary.get("n"):
        return "—"
    low, mid, high = summary.get("min"), summary.get("p50"), summary.get("max")
    return _num(mid) if low == high else f"{_num(mid)} ({_num(low)}–{_num(high)})"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, ours, baseline, target, verdict) rows of the side-by-side table."""
    m: Metrics = results["metrics"]
    verdict = {key: "PASS" if ok else "MISS" for key, ok in evaluate(m).items()}
    config = results.get("config", {})
    short, long = _num(config.get("short_phase_seconds")), _num(config.get("long_phase_seconds"))
    concurrent = m.get("concurrent") or {}
    done = lambda flavour: f"{_get(m, flavour, 'succeeded')}/{_get(m, flavour, 'steps')}"  # noqa: E731
    return [
        ("steps succeeded", done("ours"), done("baseline"), "", ""),
        ("step overhead p50 / p95 (s)", _pair(m, "ours", "overhead_seconds"), _pair(m, "baseline", "overhead_seconds"), "p50 <= 1.5 s", verdict["overhead"]),
        ("  start -> CR created p50 / p95 (s)", _pair(m, "ours", "overhead_start_seconds"), _pair(m, "baseline", "overhead_start_seconds"), "", ""),
        ("  final status -> exit p50 / p95 (s)", _pair(m, "ours", "overhead_end_seconds"), _pair(m, "baseline", "overhead_end_seconds"), "", ""),
        ("completion detection p50 / p95 (s)", _pair(m, "ours", "detection_seconds"), _pair(m, "baseline", "detection_seconds"), "p95 <= 0.5 s", verdict["detection"]),
        (f"API requests per step, short job (phase {short} s)", _range(m, "ours", "requests_short"), _range(m, "baseline", "requests_short"), "<= 10", ""),
        (f"API requests per step, 10x job (phase {long} s)", _range(m, "ours", "requests_long"), _range(m, "baseline", "requests_long"), "<= 10, flat", verdict["requests"]),
        ("  job length seen by the watch, short / 10x (s, p50)", _jobs(m, "ours"), _jobs(m, "baseline"), "", ""),
        ("peak RSS p50 / max (MB)", _pair(m, "ours", "max_rss_mb", "p50", "max", 1), _pair(m, "baseline", "max_rss_mb", "p50", "max", 1), "<= 100 MB", verdict["rss"]),
        ("start-up: to first output p50 / p95 (s)", _pair(m, "ours", "startup_output_seconds"), _pair(m, "baseline", "startup_output_seconds"), "", ""),
        ("start-up: to first API request p50 / p95 (s)", _pair(m, "ours", "startup_request_seconds"), _pair(m, "baseline", "startup_request_seconds"), "", ""),
        ("first output -> CR created p50 / p95 (s)", _pair(m, "ours", "output_to_created_seconds"), _pair(m, "baseline", "output_to_created_seconds"), "", ""),
        ("CPU time per step p50 / p95 (s)", _pair(m, "ours", "cpu_seconds"), _pair(m, "baseline", "cpu_seconds"), "", ""),
        (
            f"{_num(concurrent.get('steps'))} steps at once: succeeded",
            f"{_num(concurrent.get('succeeded'))}/{_num(concurrent.get('steps'))}", "", "all", "",
        ),
        ("  overhead p50 / p95 (s)", _pair(m, "concurrent", "overhead_seconds"), "", "p95 <= 5 s", verdict["concurrent"]),
        ("  start -> CR created p50 / p95 (s)", _pair(m, "concurrent", "overhead_start_seconds"), "", "", ""),
        ("  start -> first output p50 / p95 (s)", _pair(m, "concurrent", "startup_output_seconds"), "", "", ""),
        ("  first output -> CR created p50 / p95 (s)", _pair(m, "concurrent", "output_to_created_seconds"), "", "", ""),
        ("  completion detection p50 / p95 (s)", _pair(m, "concurrent", "detection_seconds"), "", "", ""),
    ]


def _jobs(m: Metrics, flavour: str) -> str:
    return f"{_num(_get(m, flavour, 'job_seconds_short', 'p50'), 1)} / {_num(_get(m, flavour, 'job_seconds_long', 'p50'), 1)}"


def markdown(results: dict[str, Any]) -> str:
    header = ("metric", "ours", "baseline (30 s poll)", "target (ours)", "")
    table = [header, ("---",) * len(header), *rows(results)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in table)


def context_line(results: dict[str, Any]) -> str:
    machine, versions = results.get("machine", {}), results.get("versions", {})
    head = str(versions.get("git_head", ""))[:12] + (" (dirty)" if versions.get("git_dirty") else "")
    return (
        f"{results.get('date', '')}: {machine.get('cores')} cores, {_num(machine.get('memory_mb', 0) / 1024, 1)} GB, "
        f"kube-apiserver {versions.get('kubernetes')}, ACK sagemaker-controller {versions.get('ack_sagemaker_controller')}, "
        f"commit {head}; {results.get('duration_seconds', 0):.0f} s in all"
        f"{_neighbours(results.get('machine_load') or {})}."
    )


def _neighbours(load: dict[str, Any]) -> str:
    share = load.get("other_processes_share")
    if not isinstance(share, (int, float)):
        return ""
    return f"; other processes used {share:.0%} of the machine's CPU meanwhile"


def details(results: dict[str, Any]) -> list[str]:
    """What lies behind the request counts, and anything that went wrong."""
    m: Metrics = results["metrics"]
    lines = []
    for flavour in ("ours", "baseline"):
        for length in ("short", "long"):
            calls = _get(m, flavour, f"requests_by_call_{length}")
            if isinstance(calls, dict) and calls:
                listed = ", ".join(f"{count} {call}" for call, count in calls.items())
                lines.append(f"- requests of a typical {flavour} step, {length} job: {listed}")
    interruptions = (results.get("config") or {}).get("watch_interruptions") or []
    if interruptions:
        lines.append(f"- the benchmark's watch reconnected {len(interruptions)} time(s); steps running then were not timed")
    for failure in results.get("failures") or []:
        lines.append(f"- failed: {failure['flavour']} {failure['scenario']} {failure['name']}: {failure['problem']}")
    return lines


def _delta(m: Metrics, key: str, stat: str, unit: str, digits: int = 2) -> str:
    without, with_logs = _get(m, "ours", key, stat), _get(m, "ours_logs", key, stat)
    if not all(isinstance(v, (int, float)) and not math.isnan(v) for v in (without, with_logs)):
        return "—"
    return f"{with_logs - without:+.{digits}f}{unit}"


def logs_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, logs not streamed, logs streamed, extra) rows: what stream_logs costs a step."""
    m: Metrics = results["metrics"]
    logs = m.get("ours_logs") or {}
    per_step = logs.get("logs_requests_per_step")
    return [
        ("steps succeeded", f"{_get(m, 'ours', 'succeeded')}/{_get(m, 'ours', 'steps')}",
         f"{_num(logs.get('succeeded'))}/{_num(logs.get('steps'))}", ""),
        ("step overhead p50 / p95 (s)", _pair(m, "ours", "overhead_seconds"), _pair(m, "ours_logs", "overhead_seconds"),
         _delta(m, "overhead_seconds", "p50", " s")),
        ("  final status -> exit p50 / p95 (s)", _pair(m, "ours", "overhead_end_seconds"),
         _pair(m, "ours_logs", "overhead_end_seconds"), _delta(m, "overhead_end_seconds", "p50", " s")),
        ("peak RSS p50 / max (MB)", _pair(m, "ours", "max_rss_mb", "p50", "max", 1), _pair(m, "ours_logs", "max_rss_mb", "p50", "max", 1),
         _delta(m, "max_rss_mb", "p50", " MB", 1)),
        ("CPU time per step p50 / p95 (s)", _pair(m, "ours", "cpu_seconds"), _pair(m, "ours_logs", "cpu_seconds"),
         _delta(m, "cpu_seconds", "p50", " s")),
        ("start-up: to first output p50 / p95 (s)", _pair(m, "ours", "startup_output_seconds"),
         _pair(m, "ours_logs", "startup_output_seconds"), _delta(m, "startup_output_seconds", "p50", " s")),
        ("Kubernetes API requests per step", _range(m, "ours", "requests_short"), _range(m, "ours_logs", "requests_short"), ""),
        ("CloudWatch Logs requests per step (mean)", "0", _num(per_step, 1), ""),
        ("job log lines printed per step (p50)", _num(_get(m, "ours", "log_lines", "p50")), _num(_get(m, "ours_logs", "log_lines", "p50")), ""),
    ]


def logs_markdown(results: dict[str, Any]) -> str:
    header = ("stream_logs cost (short job)", "no credentials: not streamed", "credentials: streamed", "extra (p50)")
    table = [header, ("---",) * len(header), *logs_rows(results)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in table)


def readme_section(results: dict[str, Any], results_file: str) -> str:
    body = "\n".join([markdown(results), "", *details(results), "", logs_markdown(results)])
    return f"{README_BEGIN}\n{context_line(results)} Raw figures: `{results_file}`.\n\n{body}\n{README_END}"


def replace_section(text: str, section: str) -> str:
    """Put `section` between the README's markers (appended if the markers are missing)."""
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start == -1 or end == -1 or end < start:
        return text.rstrip("\n") + "\n\n" + section + "\n"
    return text[:start] + section + text[end + len(README_END):]
