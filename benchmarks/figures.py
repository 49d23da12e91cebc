"""From what was recorded (a step's process, the watch's sightings, the audit log's requests)
to each step's figures, and from those to the summaries in the results file."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.audit import UserRequests
from benchmarks.observer import Sighting
from benchmarks.stats import summary
from benchmarks.steps import StepRun


@dataclass
class StepFigures:
    flavour: str
    scenario: str
    name: str
    returncode: int | None
    ok: bool
    problem: str = ""
    note: str = ""
    overhead_start_seconds: float | None = None  # process start -> ADDED seen by the watch
    overhead_end_seconds: float | None = None  # terminal status seen by the watch -> process exit
    overhead_seconds: float | None = None
    detection_seconds: float | None = None  # Completed seen by the watch -> process exit
    startup_output_seconds: float | None = None
    output_to_created_seconds: float | None = None  # first line of output -> ADDED: the API side of start-up
    startup_request_seconds: float | None = None
    job_seconds: float | None = None  # ADDED -> terminal, both seen by the watch
    requests: int | None = None
    requests_by_call: dict[str, int] = field(default_factory=dict)
    max_rss_mb: float = 0.0
    cpu_seconds: float = 0.0
    log_lines: int = 0  # of the job's own log, printed by the step


def step_figures(
    run: StepRun, name: str, sighting: Sighting | None, requests: UserRequests | None, *, watch_interruptions: list[float]
) -> StepFigures:
    """A step's figures. If the benchmark's own watch was interrupted while the step ran, its
    event arrival times may be late, so the step's timings are left out (and the step says so)."""
    plan = run.plan
    figures = StepFigures(plan.flavour, plan.scenario, name, run.returncode, run.ok)
    figures.max_rss_mb = round(run.max_rss_kb / 1024, 1)
    figures.cpu_seconds = round(run.cpu_seconds, 3)
    figures.log_lines = run.log_lines
    if run.first_output is not None:
        figures.startup_output_seconds = round(run.first_output - run.started, 3)
    if requests is not None:
        figures.requests = requests.count
        figures.requests_by_call = requests.by_call
        figures.startup_request_seconds = round(requests.first_received - run.started, 3)
    problems = []
    if not run.ok:
        problems.append("killed after the step timeout" if run.killed else f"exit code {run.returncode}: {' | '.join(run.tail[-3:])}")
    if sighting is None or sighting.added is None:
        problems.append("the watch never saw its TrainingJob")
    elif sighting.terminal is None:
        problems.append("the watch never saw a terminal status")
    elif run.exited is not None and any(run.started <= moment <= run.exited for moment in watch_interruptions):
        figures.note = "the benchmark's watch reconnected while this step ran: its timings are left out"
    elif run.exited is not None:
        figures.overhead_start_seconds = round(sighting.added - run.started, 3)
        figures.overhead_end_seconds = round(run.exited - sighting.terminal, 3)
        figures.overhead_seconds = round(figures.overhead_start_seconds + figures.overhead_end_seconds, 3)
        if run.first_output is not None:
            figures.output_to_created_seconds = round(sighting.added - run.first_output, 3)
        figures.job_seconds = round(sighting.terminal - sighting.added, 3)
        if sighting.terminal_status == "Completed":
            figures.detection_seconds = figures.overhead_end_seconds
        else:
            problems.append(f"the job ended {sighting.terminal_status}")
    figures.problem = "; ".join(problems)
    figures.ok = figures.ok and not problems
    return figures


def _values(figures: list[StepFigures], key: str) -> list[float]:
    return [float(value) for f in figures if f.ok and (value := getattr(f, key)) is not None]


def _typical_calls(figures: list[StepFigures]) -> dict[str, int]:
    """The most common per-step breakdown of requests, e.g. {"create trainingjobs": 1, ...}."""
    shapes = Counter(json.dumps(f.requests_by_call, sort_keys=True) for f in figures if f.ok and f.requests_by_call)
    return json.loads(shapes.most_common(1)[0][0]) if shapes else {}


_TIMINGS = (
    "overhead_seconds", "overhead_start_seconds", "overhead_end_seconds", "detection_seconds",
    "startup_output_seconds", "startup_request_seconds", "output_to_created_seconds",
)


def flavour_metrics(figures: list[StepFigures], *, main: str, long: str) -> dict[str, Any]:
    """One flavour's summaries: timings from the `main` scenario; requests from `main` (short
    jobs) and `long` (ten times longer); memory and CPU over both."""
    mains = [f for f in figures if f.scenario == main]
    longs = [f for f in figures if f.scenario == long]
    both = mains + longs
    metrics: dict[str, Any] = {
        "steps": len(mains),
        "succeeded": sum(f.ok for f in mains),
        "long_steps": len(longs),
        "long_succeeded": sum(f.ok for f in longs),
    }
    metrics.update({key: summary(_values(mains, key)) for key in _TIMINGS})
    metrics["requests_short"] = summary(_values(mains, "requests"))
    metrics["requests_long"] = summary(_values(longs, "requests"))
    metrics["requests_by_call_short"] = _typical_calls(mains)
    metrics["requests_by_call_long"] = _typical_calls(longs)
    metrics["job_seconds_short"] = summary(_values(mains, "job_seconds"))
    metrics["job_seconds_long"] = summary(_values(longs, "job_seconds"))
    metrics["max_rss_mb"] = summary(_values(both, "max_rss_mb"), digits=1)
    metrics["cpu_seconds"] = summary(_values(both, "cpu_seconds"))
    metrics["log_lines"] = summary(_values(both, "log_lines"))
    return metrics


def concurrent_metrics(figures: list[StepFigures], wall_seconds: float) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "steps": len(figures),
        "succeeded": sum(f.ok for f in figures),
        "wall_seconds": round(wall_seconds, 1),
    }
    metrics.update({key: summary(_values(figures, key)) for key in _TIMINGS})
    metrics["requests"] = summary(_values(figures, "requests"))
    metrics["max_rss_mb"] = summary(_values(figures, "max_rss_mb"), digits=1)
    return metrics


def as_dict(figures: StepFigures) -> dict[str, Any]:
    return asdict(figures)
