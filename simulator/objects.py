"""The simulator's side of S3: the few object operations SageMaker performs on a job's behalf,
against the S3 endpoint it was given (the local stack's object store).

boto3 is imported only when an endpoint is configured, so the "no S3" mode keeps the simulator
standard-library only. Credentials come from the usual chain (the stack passes fake ones); with
none at all, fake ones are used: the local store does not check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Listing and reading stay small: the simulator inspects data, it does not process datasets.
MAX_LISTED_KEYS = 1000
MAX_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: Any) -> S3Uri | None:
        """`s3://bucket/key` -> S3Uri; anything else (https, a file system path) -> None."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return None
        bucket, _, key = uri[len("s3://"):].partition("/")
        return cls(bucket, key) if bucket else None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)


class StoreUnavailable(Exception):
    """The object store did not answer (or answered 5xx): the transition is retried later."""


class NoSuchBucket(Exception):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"The specified bucket does not exist: {bucket}")
        self.bucket = bucket


class ObjectStore:
    def __init__(self, endpoint_url: str, region: str = "us-east-1") -> None:
        import boto3
        from botocore.config import Config

        self.endpoint_url = endpoint_url
        config = Config(
            connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3},
            s3={"addressing_style": "path"},
        )
        session = boto3.session.Session()
        fallback = {} if session.get_credentials() else {"aws_access_key_id": "AKIASIMULATOR0000000",
                                                          "aws_secret_access_key": "simulator-secret-not-a-real-key"}
        self._client = session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config, **fallback)

    def keys(self, prefix: S3Uri, limit: int = MAX_LISTED_KEYS) -> list[str]:
        """Keys under a prefix, as S3 matches prefixes (`in/a` also matches `in/ab/x`); none if
        the bucket does not exist."""
        try:
            page = self._call("list_objects_v2", Bucket=prefix.bucket, Prefix=prefix.key, MaxKeys=limit)
        except NoSuchBucket:
            return []
        return [item["Key"] for item in page.get("Contents") or []]

    def exists(self, uri: S3Uri) -> bool:
        try:
            self._call("head_object", Bucket=uri.bucket, Key=uri.key)
        except (NoSuchBucket, KeyError):
            return False
        return True

    def read(self, uri: S3Uri, limit: int = MAX_READ_BYTES) -> bytes:
        response = self._call("get_object", Bucket=uri.bucket, Key=uri.key, Range=f"bytes=0-{limit - 1}")
        return bytes(response["Body"].read())

    def write(self, uri: S3Uri, body: bytes, content_type: str = "application/octet-stream") -> None:
        self._call("put_object", Bucket=uri.bucket, Key=uri.key, Body=body, ContentType=content_type)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code == "NoSuchBucket":
                raise NoSuchBucket(str(kwargs.get("Bucket"))) from None
            if code in ("NoSuchKey", "404") or status == 404:
                raise KeyError(f"s3://{kwargs.get('Bucket')}/{kwargs.get('Key')}") from None
            if status >= 500:
                raise StoreUnavailable(f"{operation}: {error}") from None
            raise
        except BotoCoreError as error:  # connection refused, timeouts
            raise StoreUnavailable(f"{operation} at {self.endpoint_url}: {error}") from None
