"""`python -m sagemaker_ack_kfp.stack.s3_server --port N`: the local stack's object store.

It serves moto's S3 backend (the `moto` package from PyPI: an S3 emulator kept in step with
botocore's S3 model) through moto's own WSGI app, on 127.0.0.1 only. Only S3 is loaded, and a
request signed for any other service is refused, so a client pointed here by a too-broad
AWS_ENDPOINT_URL fails loudly instead of talking to some other emulated service.
Objects live in the process's memory; moto spills bodies larger than a few MB to temporary files,
which the stack keeps under .stack/object-store/ by setting TMPDIR.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

# SigV4 scope, from the Authorization header or a presigned URL's X-Amz-Credential:
# <key id>/<date>/<region>/<service>/aws4_request
_SCOPE = re.compile(r"Credential=[^/,\s&]+/\d{8}/[^/,\s&]+/([^/,\s&]+)/", re.IGNORECASE)
_SCOPE_QUERY = re.compile(r"X-Amz-Credential=[^&]*?(?:%2F|/)\d{8}(?:%2F|/)[^&]*?(?:%2F|/)([a-z0-9-]+)(?:%2F|/)", re.IGNORECASE)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def signed_service(environ: dict[str, Any]) -> str | None:
    """The service a request was signed for, or None if it is unsigned."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _SCOPE_QUERY.search(environ.get("QUERY_STRING", ""))
    return match.group(1).lower() if match else None


def s3_only(app: WsgiApp) -> WsgiApp:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = signed_service(environ)
        if service not in (None, "s3"):
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code>'
                f"<Message>This endpoint is the local stack's S3 object store; the request was signed for "
                f"service '{service}'. Point only S3 here (AWS_ENDPOINT_URL_S3), not AWS_ENDPOINT_URL.</Message>"
                "</Error>"
            ).encode()
            start_response("400 Bad Request", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return guarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_ack_kfp.stack.s3_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        from moto.server import MotoRequestHandler, create_backend_app
        from werkzeug.serving import run_simple
    except ImportError as exc:
        print(f"error: the object store needs the `stack` extra (moto[s3], flask, flask-cors): {exc}; "
              "run `pip install -e '.[stack]'` (or `make venv`)", file=sys.stderr)
        return 1
    run_simple(args.host, args.port, s3_only(create_backend_app("s3")), threaded=True, request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
