"""What SageMaker reads from and writes to S3 for a job, in SageMaker's own words when it fails.

- Inputs: a job's S3 input (S3Prefix) must hold at least one object; a manifest must exist.
  SageMaker's message for an empty prefix names the URL, the region, the role and the bucket.
- A completed training job leaves `<S3OutputPath>/<job name>/output/model.tar.gz`.
- A transform job writes one `<object>.out` per input object, one output record per input record.
- A processing job uploads one object to each of its outputs' S3 URIs.
- An endpoint downloads each container's model data, and fails when it is not there.

The contents are small stand-ins (a tar.gz holding one JSON file, one number per record),
deterministic: the same job at the same clock writes the same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import sampling
from .objects import NoSuchBucket, ObjectStore, S3Uri

MODEL_FILE = "model.json"


@dataclass(frozen=True)
class Source:
    """One S3 input of a job: `uri` is a prefix (S3Prefix) or an object (a manifest)."""

    uri: str
    data_type: str = "S3Prefix"


# ----- SageMaker's reasons -------------------------------------------------------------------

def no_objects_message(uri: str, *, region: str, role: str) -> str:
    parsed = S3Uri.parse(uri)
    bucket = parsed.bucket if parsed else uri
    return (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
        f"exists in the selected region ({region}), that objects exist under that S3 prefix, and that the role "
        f'"{role}" has "s3:ListBucket" permissions on bucket "{bucket}".'
    )


def model_data_message(container: str, url: str) -> str:
    return (
        f'Failed to download model data for container "{container}" from URL: "{url}". Please ensure that there '
        "is an object located at the URL and that the role passed to CreateModel has permissions to download "
        "the object."
    )


def upload_failed(what: str, location: str, error: NoSuchBucket) -> str:
    return f"ClientError: {what} upload failed:Unable to upload to {location}: {error}"


# ----- inputs ----------------------------------------------------------------------------------

def first_empty(store: ObjectStore, sources: Iterable[Source]) -> Source | None:
    """The first input that holds no object, or None if every one has data."""
    for source in sources:
        uri = S3Uri.parse(source.uri)
        if uri is None:
            continue  # not S3 (a file system input): nothing to check
        if source.data_type == "S3Prefix":
            if not store.keys(uri, limit=1):
                return source
        elif not store.exists(uri):
            return source
    return None


def training_sources(spec: Mapping[str, Any]) -> list[Source]:
    return [
        Source(str(s3["S3Uri"]), str(s3.get("S3DataType") or "S3Prefix"))
        for channel in spec.get("InputDataConfig") or []
        if (s3 := (channel.get("DataSource") or {}).get("S3DataSource")) and s3.get("S3Uri")
    ]


def transform_sources(spec: Mapping[str, Any]) -> list[Source]:
    s3 = ((spec.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
    return [Source(str(s3["S3Uri"]), str(s3.get("S3DataType") or "S3Prefix"))] if s3.get("S3Uri") else []


def processing_sources(spec: Mapping[str, Any]) -> list[Source]:
    return [
        Source(str(s3["S3Uri"]), str(s3.get("S3DataType") or "S3Prefix"))
        for item in spec.get("ProcessingInputs") or []
        if (s3 := item.get("S3Input")) and s3.get("S3Uri")
    ]


# ----- training --------------------------------------------------------------------------------

def model_archive(job_name: str, hyperparameters: Mapping[str, str], metrics: list[dict[str, Any]], at: float) -> bytes:
    """A model.tar.gz holding one small JSON file."""
    document = {
        "trainingJobName": job_name,
        "hyperParameters": dict(sorted(hyperparameters.items())),
        "finalMetrics": {m["MetricName"]: m["Value"] for m in metrics},
        "note": "written by the SageMaker simulator: a stand-in for the model, not a trained one",
    }
    payload = json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
    info = tarfile.TarInfo(MODEL_FILE)
    info.size, info.mtime, info.mode = len(payload), int(at), 0o644
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(payload))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=int(at)) as zipped:
        zipped.write(tar_bytes.getvalue())
    return packed.getvalue()


# ----- batch transform -------------------------------------------------------------------------

def transform_outputs(store: ObjectStore, spec: Mapping[str, Any]) -> dict[S3Uri, bytes]:
    """{output object: body} for every input object: `<S3OutputPath>/<path relative to the
    input prefix's folder>.out`, one prediction per input record."""
    source = transform_sources(spec)
    prefix = S3Uri.parse(source[0].uri) if source else None
    output = S3Uri.parse((spec.get("TransformOutput") or {}).get("S3OutputPath"))
    if prefix is None or output is None:
        return {}
    transform_input = spec.get("TransformInput") or {}
    split = transform_input.get("SplitType") or "None"
    joiner = b"\n" if (spec.get("TransformOutput") or {}).get("AssembleWith") == "Line" else b""
    folder = prefix.key.rpartition("/")[0]
    keys = store.keys(prefix) if source[0].data_type == "S3Prefix" else [prefix.key]
    outputs = {}
    for key in keys:
        if key.endswith("/"):
            continue  # a "folder" marker object
        records = _records(store.read(S3Uri(prefix.bucket, key)), split)
        predictions = [f"{sampling.metric_value('prediction', {'record': r.decode(errors='replace')}):.6f}".encode() for r in records]
        relative = key[len(folder):].lstrip("/") if folder else key
        outputs[output.join(relative + ".out")] = joiner.join(predictions) + (b"\n" if joiner else b"")
    return outputs


def _records(body: bytes, split: str) -> list[bytes]:
    if split == "Line":
        return [line for line in body.splitlines() if line.strip()]
    return [body]


# ----- processing ------------------------------------------------------------------------------

def processing_outputs(job_name: str, spec: Mapping[str, Any]) -> dict[S3Uri, bytes]:
    """One small CSV per S3 output: `<S3Uri>/<OutputName>.csv`."""
    outputs = {}
    for item in (spec.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        uri = S3Uri.parse((item.get("S3Output") or {}).get("S3Uri"))
        if uri is None:
            continue
        name = str(item.get("OutputName") or "output")
        rows = [f"{i},{sampling.metric_value('value', {'job': job_name, 'output': name, 'row': str(i)}):.6f}" for i in range(5)]
        outputs[uri.join(f"{name}.csv")] = ("index,value\n" + "\n".join(rows) + "\n").encode()
    return outputs


def write_all(store: ObjectStore, objects: Mapping[S3Uri, bytes], content_type: str) -> None:
    for uri, body in objects.items():
        store.write(uri, body, content_type)


# ----- hosting ---------------------------------------------------------------------------------

def missing_model_data(store: ObjectStore, model_spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """(container, URL) of the first container whose model data is not in S3, else None.
    SageMaker numbers the containers container_1, container_2, ..."""
    containers = [model_spec["PrimaryContainer"]] if model_spec.get("PrimaryContainer") else list(model_spec.get("Containers") or [])
    for number, container in enumerate(containers, start=1):
        url, data_type = container.get("ModelDataUrl"), "S3Object"
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if not url and source.get("S3Uri"):
            url, data_type = source["S3Uri"], source.get("S3DataType") or "S3Object"
        if url and first_empty(store, [Source(str(url), "S3Prefix" if data_type == "S3Prefix" else "S3Object")]):
            return f"container_{number}", str(url)
    return None
