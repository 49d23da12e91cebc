"""Follow one custom resource: GET it for a resourceVersion, then watch that one object from
there, keeping the last version seen (bookmarks included). A 410 Gone watches again from the
current state; a lost connection, 429 or 5xx reconnects with backoff from the last version, so a
step survives an API server restart in the middle of its wait.

`follow` yields each new snapshot, and None whenever a watch window closes without news, so the
caller can check its deadlines. The window length is the caller's: long when nothing is due, which
keeps the request count flat in the job's length; a window is reopened shorter when a snapshot
brings a deadline closer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import urllib3

from sagemaker_ack_kfp.errors import ClusterError, ResourceFailed
from sagemaker_ack_kfp.kube import Gone, Kube, ResourceRef

_CONNECTION_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError)


def follow(
    kube: Kube,
    ref: ResourceRef,
    *,
    window: Callable[[], float],
    on_reconnect: Callable[[str], None] = lambda message: None,
) -> Iterator[dict[str, Any] | None]:
    obj = _read(kube, ref)
    yield obj
    version = obj["metadata"]["resourceVersion"]
    delay = kube.retry.first_delay
    # When the current outage began; None while the API server answers. Any answer (an event,
    # a window that closed normally, a re-read) ends an outage, so a later one in a long, quiet
    # wait is timed from its own start.
    failing_since: float | None = None

    def answered() -> None:
        nonlocal failing_since, delay
        if failing_since is not None:
            on_reconnect(f"watch resumed after {time.monotonic() - failing_since:.0f}s without the API server")
        failing_since, delay = None, kube.retry.first_delay

    while True:
        seconds = max(1, int(window()))
        opened, heard = time.monotonic(), False
        try:
            with closing(kube.watch(ref, resource_version=version, timeout_seconds=seconds)) as events:
                for event in events:
                    raw = event["raw_object"]
                    version = (raw.get("metadata") or {}).get("resourceVersion", version)
                    heard = True
                    answered()
                    if event["type"] == "BOOKMARK":
                        continue
                    if event["type"] == "DELETED":
                        raise ResourceFailed(f"{ref.describe()} was deleted while the step was waiting for it")
                    yield raw
                    if time.monotonic() + window() < opened + seconds - 1:
                        # A deadline came closer than this window's end (a controller began to
                        # retry, and its grace period is shorter): reopen with a shorter window,
                        # or a controller that then goes quiet would be noticed only at its end.
                        break
            if heard or time.monotonic() - opened >= seconds / 2:
                answered()
            else:
                # Closed long before its time with nothing said (a proxy, a server shutting down):
                # back off instead of reopening it in a tight loop.
                time.sleep(delay)
                delay = min(delay * 2, kube.retry.max_delay)
            yield None
        except Gone:
            # Too old for the API server (its watch cache restarted or moved on). The object's own
            # version may be just as old, so re-reading it would not help: watch without a version,
            # and the API server starts with the current object (an ADDED event), then its changes.
            version = ""
            answered()
            yield None
        except _CONNECTION_ERRORS as exc:
            now = time.monotonic()
            if failing_since is None:
                failing_since = now
            if now - failing_since > kube.retry.give_up_after:
                raise ClusterError(
                    f"lost the Kubernetes API server for {now - failing_since:.0f}s while waiting for {ref.describe()}"
                ) from None
            on_reconnect(f"watch interrupted ({type(exc).__name__}); reconnecting in {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, kube.retry.max_delay)
            yield None


def _read(kube: Kube, ref: ResourceRef) -> dict[str, Any]:
    obj = kube.get(ref)
    if obj is None:
        raise ResourceFailed(f"{ref.describe()} no longer exists (it was deleted)")
    return obj
