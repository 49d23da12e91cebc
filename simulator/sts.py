"""The slice of STS the controller needs: GetCallerIdentity, in the query protocol.

The ACK runtime calls it at start-up to learn the account ID and partition it
builds ARNs with.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .config import SimulatorConfig

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
USER_NAME = "sagemaker-simulator"


def action(form: bytes | str) -> str | None:
    """The Action of a query-protocol request, or None if this is not one."""
    text = form.decode("utf-8", "replace") if isinstance(form, bytes) else form
    values = parse_qs(text).get("Action")
    return values[0] if values else None


def handle(config: SimulatorConfig, name: str) -> tuple[int, str]:
    """Return (HTTP status, XML document) for one STS action."""
    request_id = str(uuid.uuid4())
    if name != "GetCallerIdentity":
        return 400, _error("InvalidAction", f"Could not find operation {name} for version 2011-06-15", request_id)
    account = escape(config.account_id)
    return 200, (
        f'<GetCallerIdentityResponse xmlns="{NAMESPACE}">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:iam::{account}:user/{USER_NAME}</Arn>"
        f"<UserId>AIDASIMULATOR{account}</UserId>"
        f"<Account>{account}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )


def _error(code: str, message: str, request_id: str) -> str:
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
