"""The ACK controller's part, played by a test where the controller cannot run (CI): for the
TrainingJob a step creates, create the SageMaker job in the simulator as the controller does
(CreateTrainingJob, through boto3, from the resource's spec) and write the resource's status
as the real controller (v1.9.1) writes it, until the job ends.

The status shapes are the ones the real controller wrote in this project's stack for a
completed and a failed job: `ackResourceMetadata` (arn, ownerAccountID, partition, region),
three conditions (ACK.ResourceSynced and Ready "TrainingJob is in <status> status.", False while
InProgress and True at the end; ACK.LateInitialized "Late initialization successful"),
`creationTime` and `lastModifiedTime` from Describe, `trainingJobStatus`, `secondaryStatus`,
and `modelArtifacts` or `failureReason` at the end. Two differences, both on the side of a
tighter test: it re-reads the job every half second (the controller, every 30 s), and it
leaves out the finalizer and the late-initialized spec fields, which the step does not read.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import boto3
from kubernetes import client

from tests.support.cluster import GROUP, VERSION, Cluster

REGION = "us-east-1"
ACCOUNT = "123456789012"
_FINAL = ("Completed", "Failed", "Stopped")
# The SageMaker API's member names where they are not the spec's with a capital first letter.
_API_NAMES = {"RoleARN": "RoleArn", "S3URI": "S3Uri", "KmsKeyID": "KmsKeyId", "ModelDataURL": "ModelDataUrl"}
# Members whose keys are the user's own (hyperparameter names, variables), not API names.
_MAPS = ("hyperParameters", "environment")


def sagemaker_request(spec: dict[str, Any]) -> dict[str, Any]:
    """A TrainingJob spec (camelCase, as in the CRD) as the CreateTrainingJob request."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                name = key[:1].upper() + key[1:]
                out[_API_NAMES.get(name, name)] = dict(item) if key in _MAPS else convert(item)
            return out
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    request = convert(spec)
    request["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in request.get("Tags") or []]
    return request


def _time(value: Any) -> str:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.now(dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def controller_status(described: dict[str, Any]) -> dict[str, Any]:
    """The status the real controller writes for one DescribeTrainingJob answer."""
    state = described["TrainingJobStatus"]
    done = state in _FINAL
    now = _time(None)
    message = f"TrainingJob is in {state} status."
    status: dict[str, Any] = {
        "ackResourceMetadata": {
            "arn": described["TrainingJobArn"], "ownerAccountID": ACCOUNT, "partition": "aws", "region": REGION,
        },
        "conditions": [
            {"lastTransitionTime": now, "message": message, "status": str(done), "type": "ACK.ResourceSynced"},
            {"lastTransitionTime": now, "message": "Late initialization successful",
             "reason": "Late initialization successful", "status": "True", "type": "ACK.LateInitialized"},
            {"lastTransitionTime": now, "message": message, "status": str(done), "type": "Ready"},
        ],
        "creationTime": _time(described["CreationTime"]),
        "lastModifiedTime": _time(described["LastModifiedTime"]),
        "secondaryStatus": described.get("SecondaryStatus"),
        "trainingJobStatus": state,
    }
    if state == "Completed":
        status["modelArtifacts"] = {"s3ModelArtifacts": described["ModelArtifacts"]["S3ModelArtifacts"]}
    if described.get("FailureReason"):
        status["failureReason"] = described["FailureReason"]
    return status


class StandInController:
    """Acts on the first TrainingJob that appears in `namespace`, in a thread."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        assert cluster.simulator_url, "the stand-in needs the simulator"
        self.cluster, self.namespace = cluster, namespace
        self.sagemaker = boto3.client(
            "sagemaker", endpoint_url=cluster.simulator_url, region_name=REGION,
            aws_access_key_id="AKIASTANDIN000000000", aws_secret_access_key="stand-in",
        )
        self.name = ""  # the job's name, once created
        self.written: list[dict[str, Any]] = []  # every status written, in order
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stand-in-controller", daemon=True)

    def __enter__(self) -> "StandInController":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _api(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.cluster.admin())

    def _run(self) -> None:
        resource = self._retry(self._find)
        if resource is None:
            return
        self.name = resource["spec"]["trainingJobName"]
        self.sagemaker.create_training_job(**sagemaker_request(resource["spec"]))
        last: tuple[Any, ...] | None = None
        while not self._stop.is_set():
            described = self.sagemaker.describe_training_job(TrainingJobName=self.name)
            key = (described["TrainingJobStatus"], described.get("SecondaryStatus"))
            if key != last:
                status = controller_status(described)
                if self._retry(lambda: self._write(resource["metadata"]["name"], status)) is None:
                    return
                self.written.append(status)
                last = key
            if key[0] in _FINAL:
                return
            self._stop.wait(0.5)

    def _find(self) -> dict[str, Any] | None:
        items = self._api().list_namespaced_custom_object(GROUP, VERSION, self.namespace, "trainingjobs")["items"]
        return items[0] if items else None

    def _write(self, name: str, status: dict[str, Any]) -> bool:
        self._api().patch_namespaced_custom_object_status(GROUP, VERSION, self.namespace, "trainingjobs", name, {"status": status})
        return True

    def _retry(self, action: Any) -> Any:
        """Until it answers: the API server may be restarting (as the real controller retries)."""
        while not self._stop.is_set():
            try:
                found = action()
            except Exception as exc:  # noqa: BLE001 - a restarting API server; keep trying
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                found = None
            if found:
                return found
            self._stop.wait(0.2)
        return None
