"""The two CloudWatch Logs calls a log follower makes, through botocore, with every failure
turned into a LogsError the follower can act on. The only module that imports botocore: it is
imported only when a step streams its job's logs (see logstreaming.py), so a step that does not
pays nothing for it.

The client is botocore's standard one: the standard credential chain, and the endpoint from the
standard configuration (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`, `AWS_ENDPOINT_URL`, or the
`services` section of the shared config), so the same code runs against AWS and the local
simulator. botocore's own retries are off: the follower owns the one retry policy.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from sagemaker_ack_kfp.logfollower import Event, LogsError, Page

_CONFIG = Config(
    retries={"total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="sagemaker-ack-kfp",
)
_THROTTLING = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_TRANSIENT = {"ServiceUnavailableException", "ServiceUnavailable", "InternalFailure", "InternalError",
              "RequestTimeout", "RequestTimeoutException"}
_RESOURCE = re.compile(r"on resource: (\S+)")


def connect(region: str) -> "BotocoreLogs | None":
    """A client for `region` if the standard credential chain finds credentials, else None."""
    session = botocore.session.Session()
    if session.get_credentials() is None:
        return None
    return BotocoreLogs(session.create_client("logs", region_name=region, config=_CONFIG))


class BotocoreLogs:
    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def endpoint(self) -> str:
        return str(self._client.meta.endpoint_url)

    def stream_names(self, group: str, prefix: str) -> list[str]:
        names: list[str] = []
        request: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
        while True:
            page = self._call("DescribeLogStreams", f"log group {group}", self._client.describe_log_streams, **request)
            names += [str(stream["logStreamName"]) for stream in page.get("logStreams") or []]
            if not page.get("nextToken") or page.get("nextToken") == request.get("nextToken"):
                return names
            request["nextToken"] = page["nextToken"]

    def events(self, group: str, stream: str, token: str | None) -> Page:
        request: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            request["nextToken"] = token
        page = self._call("GetLogEvents", f"{group}:log-stream:{stream}", self._client.get_log_events, **request)
        events = [Event(int(e.get("timestamp") or 0), str(e.get("message") or "")) for e in page.get("events") or []]
        return Page(events, str(page.get("nextForwardToken") or token or ""))

    @staticmethod
    def _call(operation: str, subject: str, method: Any, **request: Any) -> Any:
        try:
            return method(**request)
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            code, message = str(error.get("Code") or "Unknown"), str(error.get("Message") or "")
            status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
            found = _RESOURCE.search(message)
            throttled = code in _THROTTLING or status == 429
            retryable = throttled or code in _TRANSIENT or status >= 500
            raise LogsError(code, operation, found.group(1) if found else subject, message,
                            retryable=retryable, throttled=throttled) from None
        except (HTTPClientError, BotocoreConnectionError) as exc:  # connection refused, reset, timed out
            raise LogsError(type(exc).__name__, operation, subject, str(exc), retryable=True) from None
        except BotoCoreError as exc:  # credentials that cannot be used, bad configuration
            raise LogsError(type(exc).__name__, operation, subject, str(exc), retryable=False) from None
