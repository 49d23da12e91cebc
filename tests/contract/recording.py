"""Recordings of the real ACK controller: the fixture format of
tests/contract/recordings/<Kind>/<scenario>.json, how raw objects are normalised into it, how a
replay puts real values back in, and the "shape" that tells whether the controller changed.

A recording is the sequence of objects the API server served (watch events on the one custom
resource) while the real controller drove it through one lifecycle. Each event says who caused
it: the step (create, update, delete), the controller, or someone else (an edit by a user, which
is how the recorder provokes some controller reactions). What varies between runs is replaced by
placeholders, everything else is kept exactly:

  {{name}}                the resource's SageMaker name (spec.<nameField>), also inside ARNs
  {{namespace}}           its namespace
  {{run_id}}              the KFP run the recorder gave the step
  {{spec:<path>}}         a string of the step's spec (length >= 8), e.g. {{spec:tags.0.value}}
  {{previous_spec:<path>}}  the same, from the spec before the step's update
  {{time:<n>}}            the n-th distinct timestamp (RFC 3339), in order of first appearance
  {{uuid:<n>}}            the n-th distinct other UUID (request IDs in ACK's messages)

uid, resourceVersion, generation, creationTimestamp and managedFields are dropped: the API
server assigns them and a replay cannot write them.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.naming import LABEL_PREFIX
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.runner import REGION_ANNOTATION

FORMAT = 1
RECORDINGS = Path(__file__).with_name("recordings")

# Who caused an event, and what a non-controller event did.
CONTROLLER, STEP, OTHER = "controller", "step", "other"
CREATE, UPDATE, DELETE, EDIT = "create", "update", "delete", "edit"

# Metadata the step writes itself; a replay never writes these.
STEP_OWNED_PREFIXES = (f"{LABEL_PREFIX}/", REGION_ANNOTATION)
_KEPT_METADATA = ("name", "namespace", "labels", "annotations", "finalizers", "deletionTimestamp", "ownerReferences")
_MIN_SPEC_LITERAL = 8
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)(?::([^{}]*))?\}\}")


def step_owned(key: str) -> bool:
    return key.startswith(STEP_OWNED_PREFIXES)


@dataclass(frozen=True)
class RecordedEvent:
    type: str  # ADDED, MODIFIED or DELETED, as the watch said
    by: str  # CONTROLLER, STEP or OTHER
    object: dict[str, Any]  # normalised: metadata (what matters), spec, status
    action: str = ""  # for STEP and OTHER: CREATE, UPDATE, DELETE or EDIT

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "by": self.by}
        if self.action:
            data["action"] = self.action
        data["object"] = self.object
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedEvent:
        return cls(type=data["type"], by=data["by"], object=data["object"], action=data.get("action", ""))


@dataclass
class Recording:
    kind: str
    scenario: str
    description: str
    controller: dict[str, str]  # {"version": "v1.9.1", ...}: what produced it
    recorded: str  # the date, YYYY-MM-DD
    placeholders: dict[str, str]  # placeholder -> the value it replaced in this recording
    events: list[RecordedEvent] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return recording_path(self.kind, self.scenario)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "scenario": self.scenario,
            "description": self.description,
            "controller": self.controller,
            "recorded": self.recorded,
            "placeholders": self.placeholders,
            "events": [event.to_json() for event in self.events],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        if data.get("format") != FORMAT:
            raise ValueError(f"recording format {data.get('format')!r}, this code reads format {FORMAT}")
        return cls(
            kind=data["kind"],
            scenario=data["scenario"],
            description=data["description"],
            controller=dict(data["controller"]),
            recorded=data["recorded"],
            placeholders=dict(data["placeholders"]),
            events=[RecordedEvent.from_json(event) for event in data["events"]],
        )

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")
        tmp.replace(target)
        return target

    @property
    def controller_events(self) -> list[RecordedEvent]:
        return [event for event in self.events if event.by == CONTROLLER]

    @property
    def final(self) -> dict[str, Any]:
        return self.events[-1].object


def recording_path(kind: str, scenario: str, root: Path = RECORDINGS) -> Path:
    return root / kind / f"{scenario}.json"


def load(kind: str, scenario: str, root: Path = RECORDINGS) -> Recording:
    path = recording_path(kind, scenario, root)
    if not path.exists():
        known = ", ".join(scenarios(kind, root)) or "none"
        raise FileNotFoundError(f"no recording {path} (recorded scenarios of {kind}: {known}); run make record-statuses")
    return Recording.from_json(json.loads(path.read_text()))


def scenarios(kind: str, root: Path = RECORDINGS) -> list[str]:
    return sorted(path.stem for path in (root / kind).glob("*.json"))


def recorded_kinds(root: Path = RECORDINGS) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.is_dir()) if root.exists() else []


# ----- normalising (recorder side) ---------------------------------------------------------


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value


class Normaliser:
    """Turns the raw objects of one recording into recorded ones. One instance per recording,
    so a timestamp keeps its placeholder across events."""

    def __init__(self, *, name: str, namespace: str, run_id: str = "") -> None:
        self.placeholders: dict[str, str] = {}
        self._times: dict[str, str] = {}
        self._uuids: dict[str, str] = {}
        self._fixed = {"name": name, "namespace": namespace, "run_id": run_id}

    def _literals(self, spec: Mapping[str, Any], previous_spec: Mapping[str, Any] | None) -> list[tuple[str, str]]:
        literals: dict[str, str] = {}
        for key, value in self._fixed.items():
            if value:
                literals.setdefault(value, f"{{{{{key}}}}}")
        current = {path: value for path, value in _leaves(dict(spec))}
        for path, value in current.items():
            if isinstance(value, str) and len(value) >= _MIN_SPEC_LITERAL:
                literals.setdefault(value, f"{{{{spec:{path}}}}}")
        for path, value in _leaves(dict(previous_spec or {})):
            if isinstance(value, str) and len(value) >= _MIN_SPEC_LITERAL and current.get(path) != value:
                literals.setdefault(value, f"{{{{previous_spec:{path}}}}}")
        # Longest first, so that a name inside a longer spec value does not split it.
        return sorted(literals.items(), key=lambda item: -len(item[0]))

    def _numbered(self, seen: dict[str, str], key: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            value = match.group(0)
            if value not in seen:
                seen[value] = f"{{{{{key}:{len(seen)}}}}}"
                self.placeholders[seen[value]] = value
            return seen[value]

        return replace

    def _string(self, text: str, literals: list[tuple[str, str]], pattern: re.Pattern[str] | None) -> str:
        text = _TIME.sub(self._numbered(self._times, "time"), text)
        if pattern is not None:
            lookup = dict(literals)

            def literal(match: re.Match[str]) -> str:
                placeholder = lookup[match.group(0)]
                self.placeholders.setdefault(placeholder, match.group(0))
                return placeholder

            text = pattern.sub(literal, text)
        return _UUID.sub(self._numbered(self._uuids, "uuid"), text)

    def value(self, value: Any, literals: list[tuple[str, str]], pattern: re.Pattern[str] | None) -> Any:
        if isinstance(value, dict):
            return {key: self.value(item, literals, pattern) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, literals, pattern) for item in value]
        if isinstance(value, str):
            return self._string(value, literals, pattern)
        return value

    def object(
        self, raw: Mapping[str, Any], *, spec: Mapping[str, Any], previous_spec: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A raw object as recorded; `spec` is the step's spec at that point (for {{spec:...}})."""
        literals = self._literals(spec, previous_spec)
        pattern = re.compile("|".join(re.escape(text) for text, _ in literals)) if literals else None
        metadata = raw.get("metadata") or {}
        kept: dict[str, Any] = {"metadata": {key: metadata[key] for key in _KEPT_METADATA if metadata.get(key)}}
        for part in ("spec", "status"):
            if raw.get(part) is not None:
                kept[part] = raw[part]
        return dict(self.value(kept, literals, pattern))


# ----- substituting (replay side) ----------------------------------------------------------


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(spec: Mapping[str, Any] | None, path: str) -> Any:
    node: Any = spec
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


class Bindings:
    """The real values of one replay's placeholders. Spec paths are read from the live object
    (falling back to the recorded value when the live spec has no such path); each timestamp is
    the moment it is first written, so times keep their order and are 'now' when written."""

    def __init__(
        self, recording: Recording, *, name: str, namespace: str, spec: Mapping[str, Any],
        run_id: str = "", clock: Callable[[], str] = utc_now,
    ) -> None:
        self.recording = recording
        self.fixed = {"name": name, "namespace": namespace, "run_id": run_id}
        self.spec: Mapping[str, Any] = spec
        self.previous_spec: Mapping[str, Any] | None = None
        self.times: dict[str, str] = {}
        self.uuids: dict[str, str] = {}
        self._clock = clock

    def resolve(self, key: str, argument: str | None) -> str:
        placeholder = f"{{{{{key}{':' + argument if argument is not None else ''}}}}}"
        if key in self.fixed and argument is None:
            return self.fixed[key] or self.recording.placeholders.get(placeholder, "")
        if key == "time" and argument is not None:
            return self.times.setdefault(argument, self._clock())
        if key == "uuid" and argument is not None:
            return self.uuids.setdefault(argument, str(uuid.uuid4()))
        if key in ("spec", "previous_spec") and argument is not None:
            value = _at(self.spec if key == "spec" else self.previous_spec, argument)
            if isinstance(value, str):
                return value
            if placeholder in self.recording.placeholders:
                return self.recording.placeholders[placeholder]
        raise KeyError(f"cannot resolve {placeholder} in recording {self.recording.kind}/{self.recording.scenario}")

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.apply(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.apply(item) for item in value]
        if isinstance(value, str) and "{{" in value:
            return _PLACEHOLDER.sub(lambda m: self.resolve(m.group(1), m.group(2)), value)
        return value


# ----- shapes (has the controller changed?) ------------------------------------------------


def _key_paths(value: Any, path: str = "") -> Iterator[str]:
    """`a.b:string`, `a.list[]:object`...: where values are and of which JSON type."""
    if isinstance(value, dict):
        if not value:
            yield f"{path}:object"
        for key, item in value.items():
            yield from _key_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if not value:
            yield f"{path}[]:empty"
        for item in value:
            yield from _key_paths(item, f"{path}[]")
    else:
        kind = {bool: "boolean", int: "number", float: "number", str: "string", type(None): "null"}[type(value)]
        yield f"{path}:{kind}"


def signature(kind: str, event: RecordedEvent) -> dict[str, Any]:
    """What a consumer of this event depends on, without the values that vary from run to run."""
    obj = event.object
    status = dict(obj.get("status") or {})
    conditions = status.pop("conditions", None) or []
    metadata = obj.get("metadata") or {}
    status_field = rules_for(kind).status_field
    return {
        "type": event.type,
        "by": event.by,
        "action": event.action,
        "finalizers": metadata.get("finalizers") or [],
        "deleting": bool(metadata.get("deletionTimestamp")),
        "controller_annotations": sorted(key for key in metadata.get("annotations") or {} if not step_owned(key)),
        "status_value": status.get(status_field) if status_field else None,
        "conditions": [[c.get("type"), c.get("status")] for c in conditions],
        "status_keys": sorted(set(_key_paths(status))),
    }


def shape(recording: Recording) -> dict[str, Any]:
    """A recording's shape: the order of its actions and of its status values, the finalizer lists
    and the event signatures it has, and its last signature. Timing varies between runs (how many
    times the controller saw a job InProgress); these do not."""
    signatures = [signature(recording.kind, event) for event in recording.events]
    values: list[Any] = []
    for sig in signatures:
        if sig["by"] == CONTROLLER and sig["status_value"] is not None and (not values or values[-1] != sig["status_value"]):
            values.append(sig["status_value"])
    # Finalizers apart: a controller that keeps retrying adds and removes its finalizer between
    # writes, so which status snapshot carries which is a matter of timing; which lists occur is not.
    without = [{key: value for key, value in sig.items() if key != "finalizers"} for sig in signatures]
    return {
        "actions": [f"{event.by}:{event.action}" for event in recording.events if event.by != CONTROLLER],
        "status_values": values,
        "finalizers": sorted({json.dumps(sig["finalizers"]) for sig in signatures}),
        "signatures": sorted({json.dumps(sig, sort_keys=True) for sig in without}),
        "final": without[-1] if without else {},
    }


def shape_differences(expected: Recording, actual: Recording) -> list[str]:
    """How `actual`'s shape differs from `expected`'s, in words (empty when they match)."""
    want, got = shape(expected), shape(actual)
    problems = []
    for key in ("actions", "status_values", "finalizers", "final"):
        if want[key] != got[key]:
            problems.append(f"{key}: recorded {json.dumps(want[key], sort_keys=True)}, now {json.dumps(got[key], sort_keys=True)}")
    missing = sorted(set(want["signatures"]) - set(got["signatures"]))
    new = sorted(sig for sig in set(got["signatures"]) - set(want["signatures"])
                 if not _rewritten_while_deleting(sig, want["signatures"]))
    problems += [f"no longer seen: {sig}" for sig in missing] + [f"new: {sig}" for sig in new]
    return problems


def _rewritten_while_deleting(sig: str, recorded: list[str]) -> bool:
    """A snapshot written while the resource was being deleted that is, deletion apart, one the
    recording has from before: whether the controller re-writes a status between its stop call
    and the job's end is a matter of timing (seen on HyperParameterTuningJob/stop)."""
    fields = json.loads(sig)
    if not fields.get("deleting"):
        return False
    return json.dumps({**fields, "deleting": False}, sort_keys=True) in recorded
