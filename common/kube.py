"""The only module that talks to the Kubernetes API server.

One ApiClient per process. Every request goes through `call`, which retries what is worth
retrying (connection loss, timeouts, 429 and 5xx, honouring Retry-After) with capped
exponential backoff, and turns everything else into a typed error with the server's message.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.errors import ClusterError, CrdsMissing, Forbidden
from sagemaker_ack_kfp.identity import service_account_dir

T = TypeVar("T")
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# A conditional delete that keeps conflicting means the object keeps changing under it.
_DELETE_ATTEMPTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.2
    max_delay: float = 5.0
    # How long the API server may stay unreachable before the step gives up.
    give_up_after: float = 600.0


@dataclass(frozen=True)
class ResourceRef:
    group: str
    version: str
    plural: str
    kind: str
    namespace: str
    name: str

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class Gone(Exception):
    """A watch's resourceVersion is too old (HTTP 410): re-read and watch again."""


def _api_message(exc: ApiException) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason)
    except (ValueError, TypeError, AttributeError):
        return str(exc.reason)


def _details(exc: ApiException) -> dict[str, Any]:
    """The `details` of the API server's Status body ({} for a bare "404 page not found")."""
    import json

    try:
        details = json.loads(exc.body or "{}").get("details")
    except (ValueError, TypeError, AttributeError):
        return {}
    return details if isinstance(details, dict) else {}


def identity_hint() -> str:
    """Who this step runs as, for error messages."""
    if os.path.exists(os.path.join(service_account_dir(), "token")):
        return "the pod's service account"
    return "the credentials of the current kubeconfig"


class Kube:
    def __init__(self, api_client: client.ApiClient, *, retry: RetryPolicy | None = None) -> None:
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.retry = retry or RetryPolicy()
        self.requests = 0  # counted for the benchmark and for tests

    @classmethod
    def connect(cls, *, retry: RetryPolicy | None = None) -> "Kube":
        """In a pod: the service account. Elsewhere: $KUBECONFIG / ~/.kube/config."""
        try:
            config.load_incluster_config()
            api_client = client.ApiClient()
        except config.ConfigException:
            try:
                api_client = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))
            except (config.ConfigException, OSError) as exc:
                raise ClusterError(
                    f"no Kubernetes credentials: not in a pod, and no usable kubeconfig "
                    f"(KUBECONFIG={os.environ.get('KUBECONFIG', 'unset')}): {exc}"
                ) from None
        return cls(api_client, retry=retry)

    @staticmethod
    def default_namespace() -> str:
        namespace_file = os.path.join(service_account_dir(), "namespace")
        if os.path.exists(namespace_file):
            with open(namespace_file) as handle:
                return handle.read().strip()
        try:
            _, context = config.list_kube_config_contexts(config_file=os.environ.get("KUBECONFIG"))
            return str(context.get("context", {}).get("namespace") or "default")
        except (config.ConfigException, OSError, TypeError):
            return "default"

    # ----- the one request path ----------------------------------------------------------
    def call(self, what: str, fn: Callable[..., T], *args: Any, give_up_after: float | None = None, **kwargs: Any) -> T:
        delay = self.retry.first_delay
        limit = self.retry.give_up_after if give_up_after is None else give_up_after
        started = time.monotonic()
        while True:
            self.requests += 1
            try:
                return fn(*args, **kwargs)
            except ApiException as exc:
                if exc.status not in _RETRYABLE_STATUS:
                    raise
                wait = _retry_after(exc) or delay
                reason = f"HTTP {exc.status} {_api_message(exc)}"
            except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
                wait, reason = delay, f"{type(exc).__name__}"
            elapsed = time.monotonic() - started
            if elapsed + wait > limit:
                raise ClusterError(
                    f"the Kubernetes API server did not answer {what} for {elapsed:.0f}s (last error: {reason})"
                )
            time.sleep(wait * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.retry.max_delay)

    # ----- custom resources --------------------------------------------------------------
    def get(self, ref: ResourceRef, *, give_up_after: float | None = None) -> dict[str, Any] | None:
        try:
            obj = self.call(
                f"GET {ref.describe()}",
                self.custom.get_namespaced_custom_object,
                ref.group, ref.version, ref.namespace, ref.plural, ref.name,
                give_up_after=give_up_after,
            )
        except ApiException as exc:
            if exc.status == 404 and self._is_missing_object(exc, ref):
                return None
            raise translate(exc, verb="get", ref=ref) from None
        return dict(obj)

    def create(self, ref: ResourceRef, body: dict[str, Any]) -> dict[str, Any]:
        """Create; raises ApiException(409) for the caller to reattach."""
        try:
            return dict(
                self.call(
                    f"POST {ref.describe()}",
                    self.custom.create_namespaced_custom_object,
                    ref.group, ref.version, ref.namespace, ref.plural, body,
                )
            )
        except ApiException as exc:
            if exc.status == 409:
                raise
            raise translate(exc, verb="create", ref=ref) from None

    def patch(self, ref: ResourceRef, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(
                self.call(
                    f"PATCH {ref.describe()}",
                    self.custom.patch_namespaced_custom_object,
                    ref.group, ref.version, ref.namespace, ref.plural, ref.name, body,
                )
            )
        except ApiException as exc:
            raise translate(exc, verb="patch", ref=ref) from None

    def delete(self, ref: ResourceRef, *, give_up_after: float | None = None) -> bool:
        """Delete; False if it was already gone.

        The delete is conditional on the resourceVersion it was decided on. The API server looks
        at an object's finalizers only when a delete arrives: the finalizer that the controller
        adds just before it creates the SageMaker job, landing while an unconditional delete is
        in flight, would be deleted with the object, and the job would run on with nothing left
        to stop it. A conflict means the object changed: read it again and delete once more,
        which a finalizer now turns into a graceful deletion that the controller completes."""
        for _ in range(_DELETE_ATTEMPTS):
            current = self.get(ref, give_up_after=give_up_after)
            if current is None:
                return False
            preconditions = {"resourceVersion": current["metadata"]["resourceVersion"]}
            try:
                self.call(
                    f"DELETE {ref.describe()}",
                    self.custom.delete_namespaced_custom_object,
                    ref.group, ref.version, ref.namespace, ref.plural, ref.name,
                    body={"preconditions": preconditions},
                    give_up_after=give_up_after,
                )
            except ApiException as exc:
                if exc.status == 404:
                    return False
                if exc.status == 409:
                    continue
                raise translate(exc, verb="delete", ref=ref) from None
            return True
        raise ClusterError(f"{ref.describe()} kept changing while the step tried to delete it ({_DELETE_ATTEMPTS} attempts)")

    def watch(self, ref: ResourceRef, *, resource_version: str, timeout_seconds: int) -> Iterator[dict[str, Any]]:
        """One watch request on one object, from resource_version, for at most timeout_seconds.
        Without a resource_version the API server starts with the object as it is now (ADDED).

        Yields raw events. Raises Gone on 410; connection errors propagate to the caller,
        who reconnects from the last resourceVersion it saw.
        """
        self.requests += 1
        since = {"resource_version": resource_version} if resource_version else {}
        stream = watch.Watch().stream(
            self.custom.list_namespaced_custom_object,
            ref.group, ref.version, ref.namespace, ref.plural,
            field_selector=f"metadata.name={ref.name}",
            allow_watch_bookmarks=True,
            **since,
            timeout_seconds=timeout_seconds,
            # The client gives up a little after the server should have closed the stream.
            _request_timeout=(10, timeout_seconds + 30),
        )
        try:
            yield from stream
        except ApiException as exc:
            if exc.status == 410:
                raise Gone(str(exc.reason)) from None
            if exc.status in _RETRYABLE_STATUS:
                raise ConnectionError(f"watch: HTTP {exc.status}") from None
            raise translate(exc, verb="watch", ref=ref) from None

    def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        """This step's own pod (for its KFP identity); None if it cannot be read."""
        try:
            pod = self.call(
                f"GET pod {namespace}/{name}", client.CoreV1Api(self.api_client).read_namespaced_pod, name, namespace,
                give_up_after=30,
            )
        except (ApiException, ClusterError):
            return None
        return dict(self.api_client.sanitize_for_serialization(pod))

    def _is_missing_object(self, exc: ApiException, ref: ResourceRef) -> bool:
        """A 404 means either 'no such object' or 'no such resource type' (CRD missing)."""
        details = _details(exc)
        if details.get("name") == ref.name:
            return True
        return self.crd_installed(ref)

    def crd_installed(self, ref: ResourceRef) -> bool:
        try:
            resources = self.call(
                f"GET /apis/{ref.group}/{ref.version}",
                self.api_client.call_api,
                f"/apis/{ref.group}/{ref.version}", "GET",
                response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True,
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise translate(exc, verb="discover", ref=ref) from None
        return any(item.get("name") == ref.plural for item in (resources or {}).get("resources", []))


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


def translate(exc: ApiException, *, verb: str, ref: ResourceRef) -> Exception:
    """An API error, as the pipeline author needs to read it."""
    message = _api_message(exc)
    if exc.status == 403:
        return Forbidden(
            f"permission denied: {identity_hint()} may not {verb} {ref.plural}.{ref.group} in namespace "
            f"'{ref.namespace}' ({message}). A cluster admin can grant exactly what the components need with "
            f"rbac/setup.sh --namespace {ref.namespace} --service-account <the pipeline's service account>"
        )
    if exc.status == 404 and verb != "get" and _details(exc).get("kind") == "namespaces":
        # Creating in a namespace that does not exist: a 404 too, but not a missing CRD.
        return ClusterError(
            f"namespace '{ref.namespace}' does not exist in this cluster ({message}); set the step's "
            f"namespace input to an existing namespace, or leave it empty to use the namespace the step runs in"
        )
    if exc.status == 404 and verb != "get":
        return CrdsMissing(
            f"the ACK SageMaker controller's CRDs are not installed in this cluster ({ref.plural}.{ref.group}/"
            f"{ref.version} is unknown to the API server). Install the ACK sagemaker-controller "
            f"(its Helm chart installs the CRDs), then run the pipeline again."
        )
    if exc.status == 401:
        return ClusterError(f"the API server rejected the credentials ({message})")
    if exc.status == 422:
        return ClusterError(f"the API server rejected the {ref.kind}: {message}")
    return ClusterError(f"{verb} {ref.describe()} failed: HTTP {exc.status} {message}")
