"""The benchmark's independent clock on the cluster: a thread watching one namespace's
TrainingJobs with the admin client, recording when each object's ADDED event arrived and when
the first event carrying a terminal status arrived. Step overhead is measured from these
arrival times, so the controller's own pace (its ~30 s requeue) counts for no one."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "sagemaker.services.k8s.aws", "v1alpha1", "trainingjobs"
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})


@dataclass
class Sighting:
    """What the watch saw of one TrainingJob, as wall-clock arrival times (time.time())."""

    added: float | None = None
    terminal: float | None = None
    terminal_status: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def terminal_status(obj: dict[str, Any]) -> str:
    """The job's terminal status, '' while it runs (ACK.Terminal counts as 'Terminal')."""
    status = obj.get("status") or {}
    value = str(status.get("trainingJobStatus") or "")
    if value in TERMINAL_STATUSES:
        return value
    for condition in status.get("conditions") or []:
        if condition.get("type") == "ACK.Terminal" and condition.get("status") == "True":
            return "Terminal"
    return ""


class Observer:
    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._namespace = namespace
        self._lock = threading.Lock()
        self._seen: dict[str, Sighting] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-observer", daemon=True)
        self.errors: list[str] = []  # each with its wall-clock time: steps around it are suspect
        self.interruptions: list[float] = []

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"the benchmark's watch on namespace {self._namespace} did not start")

    def stop(self) -> None:
        self._stop.set()

    def sighting(self, name: str) -> Sighting | None:
        with self._lock:
            return self._seen.get(name)

    def name_with_label(self, key: str, value: str) -> str | None:
        with self._lock:
            return next((name for name, seen in self._seen.items() if seen.labels.get(key) == value), None)

    def _record(self, kind: str, obj: dict[str, Any], arrived: float) -> None:
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name", ""))
        with self._lock:
            seen = self._seen.setdefault(name, Sighting())
            seen.labels = dict(metadata.get("labels") or {})
            if kind == "ADDED" and seen.added is None:
                seen.added = arrived
            status = terminal_status(obj)
            if status and seen.terminal is None:
                seen.terminal, seen.terminal_status = arrived, status

    def _run(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    listing = self._api.list_namespaced_custom_object(GROUP, VERSION, self._namespace, PLURAL)
                    version = listing["metadata"]["resourceVersion"]
                    for item in listing.get("items", []):
                        self._record("ADDED", item, time.time())
                    self._ready.set()
                stream = watch.Watch().stream(
                    self._api.list_namespaced_custom_object, GROUP, VERSION, self._namespace, PLURAL,
                    resource_version=version, allow_watch_bookmarks=True, timeout_seconds=60,
                    _request_timeout=(10, 90),
                )
                for event in stream:
                    arrived = time.time()
                    raw = event["raw_object"]
                    version = (raw.get("metadata") or {}).get("resourceVersion", version)
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._record(event["type"], raw, arrived)
                    if self._stop.is_set():
                        return
            except ApiException as exc:
                if self._stop.is_set():
                    return
                if exc.status == 410:
                    version = ""  # too old: list again; what the list shows arrives late
                    self._interrupted("HTTP 410 Gone, listing again")
                    continue
                self._interrupted(f"HTTP {exc.status}")
            except Exception as exc:  # noqa: BLE001 - keep watching; the report shows the errors
                if self._stop.is_set():
                    return
                self._interrupted(f"{type(exc).__name__}: {exc}")

    def _interrupted(self, reason: str) -> None:
        now = time.time()
        self.interruptions.append(now)
        self.errors.append(f"{time.strftime('%H:%M:%S', time.localtime(now))} watch: {reason}")
        time.sleep(0.1)  # reconnect from the last version seen: no event is lost, only delayed
