"""`make record-statuses`: drive every kind through its lifecycles (scenarios.py) on a local stack
with the REAL ACK controller, and save what the controller wrote as the fixtures the contract
tests replay (tests/contract/recordings/<Kind>/<scenario>.json; format in recording.py).

The recorder does what a step does, in process and with the runtime's own code (inputs -> spec
-> name -> render -> create/update/delete), while a watch on the one resource records every
object the API server serves. Knowing its own writes, it tells them from the controller's.

    python -m tests.contract.recorder                      # every scenario, on a private stack
    python -m tests.contract.recorder --kind Endpoint --scenario update
    python -m tests.contract.recorder --kubeconfig .stack/kubeconfig --output /tmp/recordings

Needs the controller binary (ACK_CONTROLLER_BIN, see README "Known limits").
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.applying import UPDATED_AT_ANNOTATION, apply
from sagemaker_ack_kfp.codegen.ack_release import pinned_versions
from sagemaker_ack_kfp.completion import Expectation, Phase, judge
from sagemaker_ack_kfp.identity import StepIdentity
from sagemaker_ack_kfp.kinds import KindInfo, load_kind
from sagemaker_ack_kfp.kube import Kube, ResourceRef
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.runner import Naming, check_kind_rules, prepare_spec, render, resolve_names, with_kind_defaults
from sagemaker_ack_kfp.stack.control_plane import Stack
from sagemaker_ack_kfp.stack.layout import StackLayout, binary_paths
from tests.contract.recording import (
    CONTROLLER,
    CREATE,
    DELETE,
    EDIT,
    OTHER,
    RECORDINGS,
    STEP,
    UPDATE,
    Normaliser,
    RecordedEvent,
    Recording,
    recording_path,
)
from tests.contract.scenarios import Edit, Scenario, StepDelete, StepUpdate, Wait, select


def _say(message: str) -> None:
    print(f"[record {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _raw(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def step_body(kind: KindInfo, arguments: dict[str, Any], *, namespace: str, identity: StepIdentity) -> dict[str, Any]:
    """The custom resource a step with these inputs creates, by the runtime's own code."""
    return named_step_body(kind, arguments, namespace=namespace, identity=identity)[0]


def named_step_body(
    kind: KindInfo, arguments: dict[str, Any], *, namespace: str, identity: StepIdentity
) -> tuple[dict[str, Any], Naming]:
    """The same, with its naming: the SageMaker name the step shows, which for a resource SageMaker
    names itself (a model version in a group) is not in the spec."""
    rules = rules_for(kind.kind)
    runtime = {item.name for item in kind.runtime_inputs}
    raw = {name: _raw(value) for name, value in arguments.items() if name not in runtime and value not in (None, "")}
    spec = prepare_spec(kind, raw, max_name_length=rules.max_name_length)
    check_kind_rules(kind, rules, spec)
    spec = with_kind_defaults(spec, rules)
    naming = resolve_names(kind, rules, spec, identity)
    body = render(kind, spec, namespace=namespace, region=str(arguments.get("region") or ""), identity=identity,
                  name=naming.resource_name, adopt_existing=rules.adopt_existing)
    return body, naming


def ref_of(kind: KindInfo, body: dict[str, Any]) -> ResourceRef:
    metadata = body["metadata"]
    return ResourceRef(kind.group, kind.version, kind.plural, kind.kind, metadata["namespace"], metadata["name"])


class Watcher:
    """Every object the API server serves for one resource, from before its creation on."""

    def __init__(self, api: client.CustomObjectsApi, kind: KindInfo, namespace: str, name: str) -> None:
        self.api, self.kind, self.namespace, self.name = api, kind, namespace, name
        listing = api.list_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural)
        self._version = listing["metadata"]["resourceVersion"]
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{name}")
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                stream = watch.Watch().stream(
                    self.api.list_namespaced_custom_object, self.kind.group, self.kind.version, self.namespace,
                    self.kind.plural, field_selector=f"metadata.name={self.name}", resource_version=self._version,
                    timeout_seconds=2,
                )
                for event in stream:
                    raw = event["raw_object"]
                    self._version = raw["metadata"]["resourceVersion"]
                    raw["metadata"].pop("managedFields", None)
                    with self._changed:
                        self.events.append((event["type"], raw))
                        self._changed.notify_all()
                    if event["type"] == "DELETED":
                        return
        except BaseException as exc:  # noqa: BLE001 - reported by wait_for
            self.error = exc
        finally:
            with self._changed:
                self._changed.notify_all()

    @property
    def latest(self) -> dict[str, Any] | None:
        with self._changed:
            if not self.events:
                return None
            kind, obj = self.events[-1]
            return {**obj, "_deleted": True} if kind == "DELETED" else obj

    def wait_for(self, what: str, predicate: Callable[[dict[str, Any]], bool], *, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.error is not None:
                    raise RuntimeError(f"the watch on {self.name} failed: {self.error!r}")
                obj = self.latest
                if obj is not None and predicate(obj):
                    return obj
                if obj is not None and obj.get("_deleted"):
                    raise RuntimeError(f"{self.name} was deleted while waiting for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.kind.kind} {self.namespace}/{self.name}: no {what} within {timeout:.0f}s; "
                                       f"last status: {json.dumps((obj or {}).get('status'))}")
                self._changed.wait(min(left, 1.0))

    def stop(self) -> list[tuple[str, dict[str, Any]]]:
        """The events seen until now (the watch may still deliver some while it closes)."""
        with self._changed:
            seen = list(self.events)
        self._stop.set()
        self._thread.join(timeout=15)
        return seen


class ScenarioRun:
    """One scenario in its own namespace: prerequisites, the step's resource, its lifecycle."""

    def __init__(self, api_client: client.ApiClient, scenario: Scenario) -> None:
        self.scenario = scenario
        self.api_client = api_client
        self.api = client.CustomObjectsApi(api_client)
        self.kube = Kube(api_client)
        self.namespace = f"rec-{scenario.kind.lower()[:24]}-{scenario.name}-{uuid.uuid4().hex[:5]}"
        self.run_id = str(uuid.uuid4())
        self.created: list[ResourceRef] = []
        self.edits: set[str] = set()  # resourceVersions of the recorder's own edits

    # ----- Prerequisites -------------------------------------------------------------------
    def ready(self, kind_name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        kind = load_kind(kind_name)
        identity = StepIdentity(run_id=self.run_id, task=f"prerequisite-{uuid.uuid4().hex[:6]}", source="recorder")
        body = step_body(kind, {**arguments, "namespace": self.namespace}, namespace=self.namespace, identity=identity)
        ref = ref_of(kind, body)
        self.created.append(ref)
        apply(self.kube, ref, body)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            obj = self.kube.get(ref) or {}
            verdict = judge(obj, rules_for(kind_name))
            if verdict.phase is Phase.SUCCEEDED:
                return rules_for(kind_name).outputs(obj)
            if verdict.phase is Phase.FAILED:
                raise RuntimeError(f"prerequisite {ref.describe()} failed: {verdict.reason}")
            time.sleep(0.5)
        raise TimeoutError(f"prerequisite {ref.describe()} not ready within 300s")

    # ----- the recording -------------------------------------------------------------------
    def record(self) -> Recording:
        scenario = self.scenario
        kind = load_kind(scenario.kind)
        client.CoreV1Api(self.api_client).create_namespace({"metadata": {"name": self.namespace}})
        arguments = {**scenario.arguments(self), "namespace": self.namespace}
        identity = StepIdentity(run_id=self.run_id, task=f"record-{scenario.name}", source="recorder")
        body, naming = named_step_body(kind, arguments, namespace=self.namespace, identity=identity)
        ref = ref_of(kind, body)
        specs = [body["spec"]]  # the step's spec, and after an update the new one
        watcher = Watcher(self.api, kind, self.namespace, ref.name)
        self.created.append(ref)
        expectation = Expectation(spec=body["spec"])
        try:
            apply(self.kube, ref, body)
            for action in scenario.lifecycle:
                expectation = self._act(action, watcher, kind, ref, arguments, identity, expectation, specs)
            time.sleep(scenario.settle)
        finally:
            events = watcher.stop()
        return self._recording(kind, naming.name, events, specs)

    def _act(
        self, action: Any, watcher: Watcher, kind: KindInfo, ref: ResourceRef, arguments: dict[str, Any],
        identity: StepIdentity, expectation: Expectation, specs: list[dict[str, Any]],
    ) -> Expectation:
        if isinstance(action, Wait):
            watcher.wait_for(action.what, lambda obj: action.predicate(obj, expectation), timeout=action.timeout)
            return expectation
        # Timestamps written after this action must differ from every earlier one (a replay binds
        # each distinct timestamp once), so act in a new second.
        time.sleep(1.05)
        if isinstance(action, StepUpdate):
            body = step_body(kind, {**arguments, **action.changes(self)}, namespace=self.namespace, identity=identity)
            applied = apply(self.kube, ref, body, update_on_conflict=True, updatable=rules_for(kind.kind).updatable_fields)
            assert applied.outcome == "updated", f"expected an update of {ref.describe()}, got {applied.outcome}"
            specs.append(body["spec"])
            return Expectation(spec=body["spec"], updated=True, updated_at=applied.updated_at)
        if isinstance(action, StepDelete):
            self.kube.delete(ref)
            return expectation
        if isinstance(action, Edit):
            edited = self.api.patch_namespaced_custom_object(
                ref.group, ref.version, ref.namespace, ref.plural, ref.name, {"spec": action.spec_patch})
            self.edits.add(edited["metadata"]["resourceVersion"])
            return expectation
        raise TypeError(f"unknown action {action!r}")

    def _recording(
        self, kind: KindInfo, name: str, events: list[tuple[str, dict[str, Any]]], specs: list[dict[str, Any]]
    ) -> Recording:
        scenario = self.scenario
        normaliser = Normaliser(name=name, namespace=self.namespace, run_id=self.run_id)
        recorded: list[RecordedEvent] = []
        previous: dict[str, Any] = {}
        spec_index = 0
        for event_type, raw in events:
            by, action = self._attribute(event_type, raw, previous)
            if by == STEP and action == UPDATE:
                spec_index = min(spec_index + 1, len(specs) - 1)
            spec, before = specs[spec_index], specs[spec_index - 1] if spec_index else None
            recorded.append(RecordedEvent(event_type, by, normaliser.object(raw, spec=spec, previous_spec=before), action))
            previous = raw
        return Recording(
            kind=scenario.kind,
            scenario=scenario.name,
            description=scenario.description,
            controller=controller_identity(),
            recorded=datetime.date.today().isoformat(),
            placeholders=dict(sorted(normaliser.placeholders.items())),
            events=recorded,
        )

    def _attribute(self, event_type: str, raw: dict[str, Any], previous: dict[str, Any]) -> tuple[str, str]:
        metadata, before = raw.get("metadata") or {}, previous.get("metadata") or {}
        if event_type == "ADDED":
            return STEP, CREATE
        if metadata.get("resourceVersion") in self.edits:
            return OTHER, EDIT
        if event_type == "DELETED" and not before.get("deletionTimestamp"):
            return STEP, DELETE  # no finalizer held it: the step's delete removed it at once
        if metadata.get("deletionTimestamp") and not before.get("deletionTimestamp"):
            return STEP, DELETE
        updated = (metadata.get("annotations") or {}).get(UPDATED_AT_ANNOTATION)
        if updated and updated != (before.get("annotations") or {}).get(UPDATED_AT_ANNOTATION):
            return STEP, UPDATE
        return CONTROLLER, ""

    def clean_up(self) -> None:
        """Best effort: delete what the scenario created (not recorded)."""
        for ref in reversed(self.created):
            try:
                self.kube.delete(ref, give_up_after=10)
            except Exception:  # noqa: BLE001 - cleaning up must not hide the recording's result
                pass


def controller_identity() -> dict[str, str]:
    binary = binary_paths()["controller"]
    digest = hashlib.sha256(binary.read_bytes()).hexdigest() if binary.exists() else ""
    return {
        "module": "github.com/aws-controllers-k8s/sagemaker-controller",
        "version": pinned_versions()["ACK_SAGEMAKER_CONTROLLER_VERSION"],
        "binary_sha256": digest,
    }


def record_all(
    scenarios: list[Scenario], *, kubeconfig: Path, output: Path | None = RECORDINGS, workers: int = 0,
) -> tuple[dict[str, Recording], dict[str, str]]:
    """Record the scenarios concurrently (each in its own namespace); write each to `output`
    (None: write nothing). Returns the recordings and the failures, by scenario key."""
    recordings: dict[str, Recording] = {}
    failures: dict[str, str] = {}

    def one(scenario: Scenario) -> None:
        started = time.monotonic()
        run = ScenarioRun(config.new_client_from_config(config_file=str(kubeconfig)), scenario)
        try:
            recording = run.record()
        except Exception as exc:  # noqa: BLE001 - one failed scenario must not lose the others
            failures[scenario.key] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            _say(f"{scenario.key}: FAILED ({exc})")
            return
        finally:
            run.clean_up()
        recordings[scenario.key] = recording
        if output is not None:
            recording.save(recording_path(scenario.kind, scenario.name, output))
        _say(f"{scenario.key}: {len(recording.events)} events ({len(recording.controller_events)} by the controller) "
             f"in {time.monotonic() - started:.0f}s")

    with ThreadPoolExecutor(max_workers=workers or len(scenarios)) as pool:
        list(pool.map(one, scenarios))
    return recordings, failures


@contextmanager
def private_stack() -> Iterator[Path]:
    """A stack of the recorder's own, with the controller: its injections disturb nobody."""
    if not binary_paths()["controller"].exists():
        raise SystemExit(
            f"error: no ACK controller binary at {binary_paths()['controller']}. Recording needs the real controller: "
            "set ACK_CONTROLLER_BIN to a v1.9.1 controller binary (README.md, 'Known limits')."
        )
    with tempfile.TemporaryDirectory(prefix="record-statuses-") as folder:
        stack = Stack(StackLayout(Path(folder)))
        try:
            stack.up(require_controller=True)
            yield stack.layout.kubeconfig
        finally:
            stack.down(quiet=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.contract.recorder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", action="append", help="only this kind (repeatable)")
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--kubeconfig", type=Path, help="record on this cluster (default: a private local stack)")
    parser.add_argument("--output", type=Path, default=RECORDINGS, help=f"where to write (default: {RECORDINGS})")
    args = parser.parse_args(argv)
    scenarios = select(args.kind, args.scenario)
    _say(f"recording {len(scenarios)} scenarios with the ACK controller {controller_identity()['version']}")
    if args.kubeconfig:
        recordings, failures = record_all(scenarios, kubeconfig=args.kubeconfig, output=args.output)
    else:
        with private_stack() as kubeconfig:
            recordings, failures = record_all(scenarios, kubeconfig=kubeconfig, output=args.output)
    for key, reason in sorted(failures.items()):
        print(f"FAILED {key}: {reason}", file=sys.stderr)
    _say(f"{len(recordings)} recordings written to {args.output}, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
