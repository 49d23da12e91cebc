"""What a job writes to CloudWatch Logs, derived from its timeline: the same lines, at the same
times, whenever anyone asks (no background writer, nothing stored).

SageMaker's naming: a training job writes `/aws/sagemaker/TrainingJobs`, stream
`<job>/algo-<n>-<epoch>` per instance; a processing job `/aws/sagemaker/ProcessingJobs`,
`<job>/algo-<n>-<epoch>`; a transform job `/aws/sagemaker/TransformJobs`,
`<job>/<instance id>-<epoch>` and its `/data-log`. `<epoch>` is when the instance's container
started. A tuning job writes nothing itself: its training jobs do.

A stream exists once its first line is written, at the container's start; a stopped job's
lines end where it was stopped (lines already written never change, so a reader's position in a
stream stays valid).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import sampling
from .metric_lines import metric_line
from .resource import Resource
from .timeline import Step

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_GROUP = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"
KIND_OF_GROUP = {TRAINING_GROUP: "TrainingJob", PROCESSING_GROUP: "ProcessingJob", TRANSFORM_GROUP: "TransformJob"}

_FINAL = ("Completed", "Failed", "Stopped")
_EPOCH_HYPERPARAMETERS = ("epochs", "num_round", "num_epochs", "max_epochs", "epoch")
_DEFAULT_EPOCHS = 5
_MAX_EPOCH_LINES = 10
_MAX_INSTANCES = 16
# A job's container works for two phases (training: Training; processing and transform: two of
# their three InProgress phases), the length used when a stop removed the end of its plan.
_WORK_PHASES = 2


@dataclass(frozen=True)
class LogEvent:
    at: float  # epoch seconds
    message: str

    @property
    def timestamp_ms(self) -> int:
        return int(self.at * 1000)


@dataclass(frozen=True)
class LogStream:
    name: str  # "<job>/algo-1-1700000000"
    events: tuple[LogEvent, ...]  # written by the time asked about, oldest first

    @property
    def job(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class _Window:
    """When the job's container ran: from `start` to `work_end` (its planned work done), then
    `end` (the final status); `cut` is when it was stopped, if it was."""

    start: float
    work_end: float
    end: float
    final: Step | None
    cut: float | None


def streams(job: Resource, now: float) -> list[LogStream]:
    """The job's streams that exist at `now`, each with the lines written by then."""
    window = _window(job)
    if window is None:
        return []
    planned = _SCRIPTS[job.kind](job, window)
    out = []
    for name, events in planned:
        written = _written(events, window, now)
        if written:
            out.append(LogStream(name, tuple(written)))
    return out


def _written(events: list[LogEvent], window: _Window, now: float) -> list[LogEvent]:
    ordered = sorted(events, key=lambda e: e.at)  # stable: same-time lines keep their order
    if window.cut is not None:
        ordered = [e for e in ordered if e.at < window.cut]
        if ordered:
            ordered.append(LogEvent(window.cut, "Received SIGTERM: the job was stopped; shutting down"))
    return [e for e in ordered if e.at <= now]


# ----- when ------------------------------------------------------------------------------


def _window(job: Resource) -> _Window | None:
    if job.timeline is None or not job.timeline.steps:
        return None
    steps = job.timeline.steps
    stopping = next((s for s in steps if s.status == "Stopping"), None)
    final = next((s for s in steps if s.status in _FINAL), None)
    start = _container_start(job, steps)
    if start is None:
        return None
    uploading = next((s for s in steps if s.secondary == "Uploading"), None)
    if uploading is not None:
        work_end = uploading.at
    elif final is not None and final.status != "Stopped":
        work_end = final.at
    else:  # stopped before its plan was known to end: the plan's own length
        work_end = start + _WORK_PHASES * job.phase_seconds
    end = final.at if final is not None and final.status != "Stopped" else work_end + 0.5 * job.phase_seconds
    cut = stopping.at if stopping is not None else None
    if cut is not None and cut <= start:
        return None  # stopped before the container started: no streams at all
    return _Window(start, max(work_end, start + 1e-3), max(end, work_end), final, cut)


def _container_start(job: Resource, steps: list[Step]) -> float | None:
    if job.kind == "TrainingJob":
        training = next((s for s in steps if s.secondary == "Training"), None)
        return training.at if training is not None else None
    started = next((s for s in steps if any(k.endswith("StartTime") for k in s.changes)), None)
    return started.at if started is not None else None


def _at(window: _Window, fraction: float) -> float:
    return window.start + (window.work_end - window.start) * fraction


# ----- what: training --------------------------------------------------------------------


def _training(job: Resource, window: _Window) -> list[tuple[str, list[LogEvent]]]:
    spec = job.spec
    algorithm = spec.get("AlgorithmSpecification") or {}
    hyperparameters = {str(k): str(v) for k, v in (spec.get("HyperParameters") or {}).items()}
    hosts = [f"algo-{n}" for n in range(1, _instance_count(spec.get("ResourceConfig")) + 1)]
    definitions = {d.get("Name"): d for d in algorithm.get("MetricDefinitions") or [] if isinstance(d, dict)}
    names = sampling.metric_names(spec, job.extra.get("objective"))
    finals = {name: sampling.metric_value(name, hyperparameters) for name in names}
    epochs = _epochs(hyperparameters)
    shown = _shown_epochs(epochs)
    channels = ", ".join(
        f"{c.get('ChannelName')} ({c.get('InputMode') or algorithm.get('TrainingInputMode') or 'File'})"
        for c in spec.get("InputDataConfig") or [] if isinstance(c, dict)
    ) or "none"
    image = algorithm.get("TrainingImage") or algorithm.get("AlgorithmName") or "unknown"
    failed = window.final is not None and window.final.status == "Failed"
    out = []
    for host in hosts:
        lines: list[LogEvent] = []

        def say(fraction: float, message: str) -> None:
            lines.append(LogEvent(_at(window, fraction), message))

        say(0.0, "Docker entrypoint called with argument(s): train")
        say(0.01, "Running default environment configuration script")
        say(0.02, f"Training image: {image}")
        say(0.03, f"Hosts: {json.dumps(hosts)}, current host: {host}")
        say(0.04, f"Input channels: {channels}")
        say(0.05, f"Hyperparameters: {json.dumps(hyperparameters, sort_keys=True)}")
        say(0.06, f"Training for {epochs} epoch(s)")
        last = len(shown)
        for position, epoch in enumerate(shown):
            fraction = 0.1 + 0.8 * (position + 1) / (last + 1)
            for name in names:
                value = _epoch_value(name, finals[name], position, last)
                say(fraction, metric_line(definitions.get(name), name, value, host=host, where=f"epoch={epoch}"))
        if failed:
            reason = str(window.final.changes.get("FailureReason") if window.final else "") or "AlgorithmError"
            say(0.95, f"ERROR: {reason}")
            say(0.99, "Reporting training FAILURE")
        else:
            for name in names:
                say(0.95, metric_line(definitions.get(name), name, finals[name], host=host, where="final"))
            say(1.0, "Saving the model to /opt/ml/model")
            lines.append(LogEvent((window.work_end + window.end) / 2, "Reporting training SUCCESS"))
        stream = f"{job.name}/{host}-{int(window.start)}"
        out.append((stream, lines))
    return out


def _epochs(hyperparameters: dict[str, str]) -> int:
    for key in _EPOCH_HYPERPARAMETERS:
        try:
            value = int(float(hyperparameters[key]))
        except (KeyError, ValueError, OverflowError):
            continue
        if value > 0:
            return min(value, 10_000)
    return _DEFAULT_EPOCHS


def _shown_epochs(epochs: int) -> list[int]:
    """At most ten epochs get lines, spread evenly and ending with the last one."""
    if epochs <= _MAX_EPOCH_LINES:
        return list(range(1, epochs + 1))
    return [round((k + 1) * epochs / _MAX_EPOCH_LINES) for k in range(_MAX_EPOCH_LINES)]


def _epoch_value(name: str, final: float, position: int, count: int) -> float:
    """Converging on the final value, which the last epoch reports exactly."""
    remaining = (count - 1 - position) / count
    if any(word in name.lower() for word in sampling._LOSS_WORDS):
        return round(final * (1 + 2 * remaining), 6)
    return round(final - (final - 0.5) * remaining, 6)


def _instance_count(resource_config: Any) -> int:
    if not isinstance(resource_config, dict):
        return 1
    count = resource_config.get("InstanceCount")
    if count is None and resource_config.get("InstanceGroups"):
        count = sum(int(g.get("InstanceCount") or 0) for g in resource_config["InstanceGroups"] if isinstance(g, dict))
    try:
        return max(1, min(int(count or 1), _MAX_INSTANCES))
    except (TypeError, ValueError):
        return 1


# ----- what: processing and transform ------------------------------------------------------


def _processing(job: Resource, window: _Window) -> list[tuple[str, list[LogEvent]]]:
    spec = job.spec
    app = spec.get("AppSpecification") or {}
    cluster = (spec.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    inputs = [i for i in spec.get("ProcessingInputs") or [] if isinstance(i, dict)]
    outputs = [o for o in (spec.get("ProcessingOutputConfig") or {}).get("Outputs") or [] if isinstance(o, dict)]
    out = []
    for host in (f"algo-{n}" for n in range(1, _instance_count(cluster) + 1)):
        lines: list[LogEvent] = []

        def say(fraction: float, message: str) -> None:
            lines.append(LogEvent(_at(window, fraction), message))

        say(0.0, f"Starting the processing container {app.get('ImageUri') or 'unknown'} on {host}")
        if app.get("ContainerEntrypoint"):
            say(0.01, f"Entrypoint: {' '.join(map(str, app['ContainerEntrypoint']))}")
        for item in inputs:
            source = (item.get("S3Input") or {})
            say(0.02, f"Input {item.get('InputName')}: {source.get('S3Uri', '')} -> {source.get('LocalPath', '')}")
        _progress(say, "of the input processed", window)
        for item in outputs:
            target = item.get("S3Output") or {}
            say(0.97, f"Output {item.get('OutputName')}: {target.get('LocalPath', '')} -> {target.get('S3Uri', '')}")
        _outcome(lines, window, "Processing complete")
        out.append((f"{job.name}/{host}-{int(window.start)}", lines))
    return out


def _transform(job: Resource, window: _Window) -> list[tuple[str, list[LogEvent]]]:
    spec = job.spec
    source = ((spec.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
    target = (spec.get("TransformOutput") or {}).get("S3OutputPath", "")
    out = []
    for n in range(_instance_count(spec.get("TransformResources"))):
        instance = "i-" + hashlib.sha256(f"{job.arn}/{n}".encode()).hexdigest()[:17]
        server: list[LogEvent] = []
        data: list[LogEvent] = []
        for fraction, message in (
            (0.0, "Starting the model server"),
            (0.02, f"Loading model {spec.get('ModelName', '')}"),
            (0.05, "Model loaded; listening on 0.0.0.0:8080"),
            (0.06, '"GET /ping HTTP/1.1" 200'),
        ):
            server.append(LogEvent(_at(window, fraction), message))

        def say(fraction: float, message: str) -> None:
            data.append(LogEvent(_at(window, fraction), message))

        say(0.07, f"Batch transform of {source.get('S3Uri', '')} into {target}")
        _progress(say, "of the input transformed", window)
        _outcome(data, window, "Batch transform complete")
        stream = f"{job.name}/{instance}-{int(window.start)}"
        out += [(stream, server), (f"{stream}/data-log", data)]
    return out


def _progress(say: Any, what: str, window: _Window) -> None:
    for quarter in (1, 2, 3, 4):
        say(0.1 + 0.2 * quarter, f"{25 * quarter}% {what}")


def _outcome(lines: list[LogEvent], window: _Window, success: str) -> None:
    final = window.final
    if final is not None and final.status == "Failed":
        reason = str(final.changes.get("FailureReason") or "the container exited with an error")
        lines.append(LogEvent(_at(window, 0.99), f"ERROR: {reason}"))
    else:
        lines.append(LogEvent(_at(window, 0.99), success))


_SCRIPTS = {"TrainingJob": _training, "ProcessingJob": _processing, "TransformJob": _transform}
