"""The benchmark's targets, table, README section, and per-step figures."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report
from benchmarks.audit import UserRequests
from benchmarks.figures import flavour_metrics, step_figures
from benchmarks.observer import Sighting, terminal_status
from benchmarks.steps import OURS, StepPlan, StepRun


def summary(p50: float, p95: float, *, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    return {"n": 20, "p50": p50, "p95": p95, "min": low if low is not None else p50, "max": high if high is not None else p95, "mean": p50}


def good_metrics() -> dict[str, Any]:
    ours = {
        "steps": 20, "succeeded": 20,
        "overhead_seconds": summary(0.4, 0.6), "detection_seconds": summary(0.1, 0.2),
        "requests_short": summary(3, 3), "requests_long": summary(4, 4),
        "max_rss_mb": summary(77, 78),
    }
    baseline = {**ours, "overhead_seconds": summary(30.3, 30.4), "requests_short": summary(4, 4), "requests_long": summary(8, 8)}
    concurrent = {"steps": 50, "succeeded": 50, "overhead_seconds": summary(2.0, 4.5)}
    return {"ours": ours, "baseline": baseline, "concurrent": concurrent}


def test_all_targets_pass_on_good_figures() -> None:
    assert report.evaluate(good_metrics()) == {
        "overhead": True, "detection": True, "requests": True, "rss": True, "concurrent": True,
    }


@pytest.mark.parametrize(
    ("path", "value", "missed"),
    [
        (("ours", "overhead_seconds", "p50"), 1.6, "overhead"),
        (("ours", "detection_seconds", "p95"), 0.51, "detection"),
        (("ours", "requests_long", "max"), 11, "requests"),
        (("ours", "requests_long", "max"), 5, "requests"),  # two more than the short job: not flat
        (("ours", "max_rss_mb", "max"), 100.5, "rss"),
        (("concurrent", "overhead_seconds", "p95"), 5.2, "concurrent"),
        (("concurrent", "succeeded"), 49, "concurrent"),
    ],
)
def test_each_target_misses_on_its_own_figure(path: tuple[str, ...], value: float, missed: str) -> None:
    metrics = copy.deepcopy(good_metrics())
    holder = metrics
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    verdict = report.evaluate(metrics)
    assert verdict[missed] is False
    assert all(ok for key, ok in verdict.items() if key != missed)


def test_missing_figures_are_a_miss_not_a_crash() -> None:
    assert report.evaluate({"ours": {"overhead_seconds": {"n": 0}}}) == dict.fromkeys(
        ("overhead", "detection", "requests", "rss", "concurrent"), False
    )


def test_the_table_puts_ours_next_to_the_baseline_with_verdicts() -> None:
    results = {"metrics": good_metrics(), "config": {"short_phase_seconds": 3.0, "long_phase_seconds": 30.0}}
    table = report.markdown(results)
    assert "| step overhead p50 / p95 (s) | 0.40 / 0.60 | 30.30 / 30.40 | p50 <= 1.5 s | PASS |" in table
    assert "| API requests per step, 10x job (phase 30 s) | 4 | 8 | <= 10, flat | PASS |" in table
    assert "| 50 steps at once: succeeded | 50/50 |" in table


def test_the_logs_table_puts_streaming_next_to_not_streaming_with_the_extra_cost() -> None:
    metrics = good_metrics()
    metrics["ours"] |= {"cpu_seconds": summary(0.6, 0.7), "log_lines": summary(0, 0)}
    metrics["ours_logs"] = {
        **metrics["ours"], "overhead_seconds": summary(0.45, 0.7), "max_rss_mb": summary(95.5, 97),
        "cpu_seconds": summary(0.75, 0.9), "log_lines": summary(13, 13), "logs_requests_per_step": 12.4,
    }
    table = report.logs_markdown({"metrics": metrics})
    assert "| step overhead p50 / p95 (s) | 0.40 / 0.60 | 0.45 / 0.70 | +0.05 s |" in table
    assert "| peak RSS p50 / max (MB) | 77 / 78 | 95.5 / 97 | +18.5 MB |" in table
    assert "| CloudWatch Logs requests per step (mean) | 0 | 12.4 |  |" in table
    assert "| job log lines printed per step (p50) | 0 | 13 |  |" in table
    # An older results file without the logs flavour still renders.
    assert "| step overhead p50 / p95 (s) | 0.40 / 0.60 | — | — |" in report.logs_markdown({"metrics": good_metrics()})


def test_readme_section_is_replaced_between_markers_and_appended_otherwise() -> None:
    section = f"{report.README_BEGIN}\nnew\n{report.README_END}"
    text = f"# Bench\n\n{report.README_BEGIN}\nold\n{report.README_END}\n\n## After\n"
    assert report.replace_section(text, section) == f"# Bench\n\n{section}\n\n## After\n"
    assert report.replace_section("# Bench\n", section) == f"# Bench\n\n{section}\n"


# ----- per-step figures --------------------------------------------------------------------


def run(*, started: float = 100.0, exited: float | None = 131.0, returncode: int = 0) -> StepRun:
    plan = StepPlan(OURS, "main", 3.0, ["python3"], {}, Path("/nonexistent"), "system:serviceaccount:b:s", "run-1")
    step = StepRun(plan, started=started, first_output=100.25, exited=exited, returncode=returncode)
    step.max_rss_kb, step.cpu_seconds = 80 * 1024, 0.5
    return step


def test_overhead_is_the_time_outside_the_job_as_the_watch_saw_it() -> None:
    seen = Sighting(added=100.3, terminal=130.9, terminal_status="Completed")
    requests = UserRequests(count=3, first_received=100.28, by_call={"create trainingjobs": 1})
    figures = step_figures(run(), "job", seen, requests, watch_interruptions=[])
    assert figures.ok and not figures.problem
    assert figures.overhead_start_seconds == pytest.approx(0.3)
    assert figures.overhead_end_seconds == pytest.approx(0.1)
    assert figures.overhead_seconds == pytest.approx(0.4)
    assert figures.detection_seconds == pytest.approx(0.1)
    assert figures.job_seconds == pytest.approx(30.6)
    assert (figures.requests, figures.startup_request_seconds, figures.startup_output_seconds) == (3, 0.28, 0.25)
    assert (figures.max_rss_mb, figures.cpu_seconds) == (80.0, 0.5)


def test_a_watch_interruption_during_the_step_leaves_its_timings_out() -> None:
    seen = Sighting(added=100.3, terminal=130.9, terminal_status="Completed")
    figures = step_figures(run(), "job", seen, None, watch_interruptions=[50.0, 120.0])
    assert figures.ok and figures.overhead_seconds is None and "reconnected" in figures.note
    metrics = flavour_metrics([figures], main="main", long="long")
    assert metrics["succeeded"] == 1 and metrics["overhead_seconds"] == {"n": 0}


def test_failed_steps_and_jobs_are_problems_and_not_timed() -> None:
    failed = step_figures(run(returncode=1), "job", Sighting(added=100.3, terminal=130.9, terminal_status="Failed"), None, watch_interruptions=[])
    assert not failed.ok and "exit code 1" in failed.problem and "ended Failed" in failed.problem
    assert failed.detection_seconds is None
    unseen = step_figures(run(), "", None, None, watch_interruptions=[])
    assert not unseen.ok and "never saw" in unseen.problem
    metrics = flavour_metrics([failed, unseen], main="main", long="long")
    assert (metrics["steps"], metrics["succeeded"], metrics["overhead_seconds"]) == (2, 0, {"n": 0})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, ""),
        ({"trainingJobStatus": "InProgress"}, ""),
        ({"trainingJobStatus": "Completed"}, "Completed"),
        ({"trainingJobStatus": "Stopped"}, "Stopped"),
        ({"conditions": [{"type": "ACK.Terminal", "status": "True"}]}, "Terminal"),
        ({"conditions": [{"type": "ACK.Terminal", "status": "False"}]}, ""),
    ],
)
def test_terminal_status(status: dict[str, Any], expected: str) -> None:
    assert terminal_status({"status": status}) == expected
