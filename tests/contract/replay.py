"""Playing the controller's part from a recording, on a real API server where no controller runs.

`Replayer` plays one recording onto the one custom resource a step created: in order, it writes
each of the controller's changes the way the controller wrote them (finalizers, annotations and
late-initialized spec fields by a merge patch of the resource, the status through the status
subresource), and where the recording has the step act (update, delete), it waits until the step
under test has done so. Placeholders get the live resource's values (recording.Bindings).

    replay = Replayer(api_client, load("TrainingJob", "stop"), namespace=ns)
    replay.attach()                   # waits for the step's resource
    replay.play(until="InProgress")   # the controller's writes up to the first InProgress status
    ...                               # e.g. SIGTERM the step
    replay.play()                     # waits for the step's delete, then removes the finalizer

`ReplayingController` does this for every resource that appears in a namespace, choosing the
recording from the simulator's injection tags, so whole pipelines (run-local) run without the
controller.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.applying import UPDATED_AT_ANNOTATION
from sagemaker_ack_kfp.kinds import KindInfo, load_kind
from sagemaker_ack_kfp.overlays import rules_for
from tests.contract.recording import (
    CONTROLLER,
    DELETE,
    OTHER,
    STEP,
    UPDATE,
    Bindings,
    RecordedEvent,
    Recording,
    load,
    recorded_kinds,
    scenarios,
    step_owned,
)

Until = str | Callable[[dict[str, Any]], bool] | None


def merge_patch(old: Any, new: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns `old` into `new`."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return copy.deepcopy(new)
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = copy.deepcopy(value)
        elif old[key] != value:
            patch[key] = merge_patch(old[key], value)
    return patch


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The keys of `new` that differ from `old` (removed ones as None), ignoring step-owned keys."""
    keys = {key for key in old.keys() | new.keys() if not step_owned(key)}
    return {key: new.get(key) for key in keys if old.get(key) != new.get(key)}


class ReplayError(AssertionError):
    pass


class Replayer:
    """Plays one recording onto one custom resource; see the module docstring."""

    def __init__(
        self, api_client: client.ApiClient, recording: Recording, *, namespace: str, name: str | None = None,
        pace: float = 0.0, timeout: float = 120.0,
    ) -> None:
        self.api = client.CustomObjectsApi(api_client)
        self.recording = recording
        self.kind: KindInfo = load_kind(recording.kind)
        self.namespace = namespace
        self.name = name
        self.pace = pace
        self.timeout = timeout
        self.position = 1  # the next event to play; event 0 is the step's create
        self.bindings: Bindings | None = None
        self.live: dict[str, Any] | None = None
        self.gone = False
        # What the step did where the recording has it act: (action, the resource right after it).
        self.step_actions: list[tuple[str, dict[str, Any] | None]] = []
        self._updated_at = ""

    # ----- where we are --------------------------------------------------------------------
    @property
    def events(self) -> list[RecordedEvent]:
        return self.recording.events

    @property
    def finished(self) -> bool:
        return self.gone or self.position >= len(self.events)

    @property
    def next_event(self) -> RecordedEvent | None:
        return None if self.finished else self.events[self.position]

    def describe(self) -> str:
        return f"replay of {self.recording.kind}/{self.recording.scenario} onto {self.namespace}/{self.name or '?'}"

    # ----- the API server --------------------------------------------------------------------
    def _get(self) -> dict[str, Any] | None:
        assert self.name
        try:
            return dict(self.api.get_namespaced_custom_object(
                self.kind.group, self.kind.version, self.namespace, self.kind.plural, self.name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _patch(self, body: dict[str, Any], *, status: bool = False) -> None:
        assert self.name
        call = self.api.patch_namespaced_custom_object_status if status else self.api.patch_namespaced_custom_object
        try:
            self.live = dict(call(self.kind.group, self.kind.version, self.namespace, self.kind.plural, self.name, body))
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.gone, self.live = True, None

    def _wait_live(self, what: str, predicate: Callable[[dict[str, Any] | None], bool], timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            obj = self._get()
            if predicate(obj):
                return obj
            if time.monotonic() > deadline:
                raise ReplayError(f"{self.describe()}: the step did not {what} within {timeout:.0f}s "
                                  f"(recording at event {self.position} of {len(self.events)})")
            time.sleep(0.1)

    # ----- attaching -------------------------------------------------------------------------
    def attach(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the step's resource (by name, else the only one of the kind in the namespace)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.name is None:
            items = self.api.list_namespaced_custom_object(
                self.kind.group, self.kind.version, self.namespace, self.kind.plural)["items"]
            if len(items) > 1:
                raise ReplayError(f"{self.describe()}: {len(items)} {self.kind.plural} in the namespace; give the name")
            if items:
                self.name = items[0]["metadata"]["name"]
            elif time.monotonic() > deadline:
                raise ReplayError(f"{self.describe()}: the step created no {self.kind.kind} within {timeout or self.timeout:.0f}s")
            else:
                time.sleep(0.1)
        obj = self._wait_live("create its resource", lambda o: o is not None, max(1.0, deadline - time.monotonic()))
        assert obj is not None
        self.live = obj
        metadata = obj["metadata"]
        self._updated_at = (metadata.get("annotations") or {}).get(UPDATED_AT_ANNOTATION, "")
        self.bindings = Bindings(
            self.recording, name=str(obj["spec"].get(self.kind.name_field) or self.name), namespace=self.namespace,
            spec=obj["spec"], run_id=(metadata.get("labels") or {}).get("sagemaker-ack-kfp.io/run-id", ""),
        )
        return obj

    # ----- playing ---------------------------------------------------------------------------
    def _matches(self, until: Until, obj: dict[str, Any]) -> bool:
        if until is None:
            return False
        if callable(until):
            return bool(until(obj))
        status_field = rules_for(self.recording.kind).status_field
        return bool(status_field) and (obj.get("status") or {}).get(status_field) == until

    def play(self, until: Until = None, *, timeout: float | None = None) -> dict[str, Any] | None:
        """Play events in order, up to and including the first controller event whose recorded
        object matches `until` (a status value of the kind's status field, or a predicate on the
        object with real values), else to the end. Waits for the step where the recording has it act."""
        if self.bindings is None:
            self.attach(timeout=timeout)
        while not self.finished:
            event = self.events[self.position]
            if event.by == STEP:
                self._await_step(event, timeout or self.timeout)
            else:
                self._write(event)
                if self.pace:
                    time.sleep(self.pace)
            self.position += 1
            if event.by == CONTROLLER and self._matches(until, self._bound(event.object)):
                return self.live
        if until is not None and not self.gone:
            raise ReplayError(f"{self.describe()}: played to the end without reaching {until!r}")
        return self.live

    def play_to_step_action(self) -> dict[str, Any] | None:
        """Play the controller's events up to the recording's next step action (update, delete)."""
        if self.bindings is None:
            self.attach()
        while not self.finished and self.events[self.position].by != STEP:
            self._write(self.events[self.position])
            self.position += 1
        return self.live

    def _bound(self, obj: dict[str, Any]) -> dict[str, Any]:
        assert self.bindings is not None
        return dict(self.bindings.apply(obj))

    def _await_step(self, event: RecordedEvent, timeout: float) -> None:
        assert self.bindings is not None
        if event.action == UPDATE:
            before = self.live or {}
            obj = self._wait_live(
                "update its resource",
                lambda o: o is not None and (o["metadata"].get("annotations") or {}).get(UPDATED_AT_ANNOTATION, "") != self._updated_at,
                timeout,
            )
            assert obj is not None
            self._updated_at = obj["metadata"]["annotations"][UPDATED_AT_ANNOTATION]
            self.bindings.previous_spec = before.get("spec") or {}
            self.bindings.spec = obj["spec"]
            self.live = obj
        elif event.action == DELETE:
            obj = self._wait_live(
                "delete its resource", lambda o: o is None or bool(o["metadata"].get("deletionTimestamp")), timeout)
            self.live, self.gone = obj, obj is None
        else:
            raise ReplayError(f"{self.describe()}: cannot wait for a step's {event.action!r}")
        self.step_actions.append((event.action, copy.deepcopy(self.live)))

    def _write(self, event: RecordedEvent) -> None:
        previous = self._bound(self.events[self.position - 1].object)
        current = self._bound(event.object)
        if event.type == "DELETED":
            # The controller removed its finalizer from a resource being deleted: the API server
            # completes the deletion.
            self._patch({"metadata": {"finalizers": None}})
            self.gone = self.gone or self._get() is None
            return
        old_meta, new_meta = previous.get("metadata") or {}, current.get("metadata") or {}
        metadata: dict[str, Any] = {}
        if (old_meta.get("finalizers") or []) != (new_meta.get("finalizers") or []):
            metadata["finalizers"] = new_meta.get("finalizers") or None
        for part in ("annotations", "labels"):
            changed = _changes(old_meta.get(part) or {}, new_meta.get(part) or {})
            if changed:
                metadata[part] = changed
        body: dict[str, Any] = {}
        if metadata:
            body["metadata"] = metadata
        if (previous.get("spec") or {}) != (current.get("spec") or {}):
            body["spec"] = merge_patch(previous.get("spec") or {}, current.get("spec") or {})
        if body:
            self._patch(body)
            if event.by == OTHER and self.bindings is not None and self.live is not None:
                self.bindings.spec = self.live["spec"]
        if not self.gone and (previous.get("status") or {}) != (current.get("status") or {}):
            live_status = (self.live or {}).get("status") or {}
            self._patch({"status": merge_patch(live_status, current.get("status") or {})}, status=True)


# ----- a controller for a whole namespace ----------------------------------------------------

Chooser = Callable[[str, dict[str, Any]], str | None]


def by_injection_tags(kind: str, obj: dict[str, Any]) -> str | None:
    """The recording a real controller and the simulator would have produced for this resource:
    sim/fail-reason -> failure, sim/validation-error -> recoverable, else success."""
    keys = {tag.get("key") for tag in (obj.get("spec") or {}).get("tags") or [] if isinstance(tag, dict)}
    recorded = scenarios(kind)
    if "sim/fail-reason" in keys and "failure" in recorded:
        return "failure"
    if "sim/validation-error" in keys and "recoverable" in recorded:
        return "recoverable"
    return "success" if "success" in recorded else None


class ReplayingController:
    """Replays a recording onto every custom resource that appears in a namespace, each in its
    own thread, as the real controller would act on each. Use as a context manager; `check()`
    raises if any replay went wrong."""

    def __init__(
        self, api_client: client.ApiClient, namespace: str, *, choose: Chooser = by_injection_tags,
        kinds: Iterable[str] | None = None, pace: float = 0.05,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.choose = choose
        self.kinds = list(kinds or recorded_kinds())
        self.pace = pace
        self.replays: dict[tuple[str, str], Replayer] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> ReplayingController:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, timeout: float = 60.0) -> None:
        """Start watching; returns once every kind is watched (as a controller that is up)."""
        ready = [threading.Event() for _ in self.kinds]
        for kind, listed in zip(self.kinds, ready):
            thread = threading.Thread(target=self._watch, args=(load_kind(kind), listed), daemon=True, name=f"replaying-{kind}")
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        for listed in ready:
            if not listed.wait(max(0.0, deadline - time.monotonic())):
                raise ReplayError(f"the replaying controller could not list every kind within {timeout:.0f}s")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def check(self) -> None:
        with self._lock:
            if self.errors:
                raise ReplayError("the replaying controller failed:\n" + "\n".join(self.errors))

    def _watch(self, kind: KindInfo, listed: threading.Event) -> None:
        api = client.CustomObjectsApi(self.api_client)
        listing = api.list_namespaced_custom_object(kind.group, kind.version, self.namespace, kind.plural)
        version = listing["metadata"]["resourceVersion"]
        for obj in listing["items"]:  # there before the controller started: it acts on them too
            self._begin(kind.kind, obj)
        listed.set()
        while not self._stop.is_set():
            try:
                for event in watch.Watch().stream(
                    api.list_namespaced_custom_object, kind.group, kind.version, self.namespace, kind.plural,
                    resource_version=version, timeout_seconds=2,
                ):
                    obj = event["raw_object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] == "ADDED":
                        self._begin(kind.kind, obj)
            except Exception as exc:  # noqa: BLE001 - reported by check()
                if not self._stop.is_set():
                    with self._lock:
                        self.errors.append(f"watching {kind.plural}: {exc!r}")
                return

    def _begin(self, kind: str, obj: dict[str, Any]) -> None:
        scenario = self.choose(kind, obj)
        if scenario is None:
            return
        replayer = Replayer(self.api_client, load(kind, scenario), namespace=self.namespace,
                            name=obj["metadata"]["name"], pace=self.pace)
        with self._lock:
            self.replays[kind, obj["metadata"]["name"]] = replayer

        def run() -> None:
            try:
                replayer.play()
            except Exception as exc:  # noqa: BLE001 - reported by check()
                with self._lock:
                    self.errors.append(f"{replayer.describe()}: {exc!r}")

        threading.Thread(target=run, daemon=True, name=f"replay-{obj['metadata']['name']}").start()
