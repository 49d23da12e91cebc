"""Small, valid specs for the kinds under test, with the simulator's injection tags."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def tags(**injections: str) -> list[dict[str, str]]:
    """sim/<name> tags: fail_reason -> sim/fail-reason, and so on."""
    return [{"key": f"sim/{key.replace('_', '-')}", "value": value} for key, value in injections.items()]


def training_spec(name: str, *, bucket: str = "demo-bucket", **injections: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "trainingJobName": name,
        "roleARN": ROLE,
        "algorithmSpecification": {"trainingImage": KMEANS_IMAGE, "trainingInputMode": "File"},
        "hyperParameters": {"k": "10", "feature_dim": "784"},
        "inputDataConfig": [
            {
                "channelName": "train",
                "dataSource": {
                    "s3DataSource": {
                        "s3DataType": "S3Prefix",
                        "s3URI": f"s3://{bucket}/mnist/train",
                        "s3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "outputDataConfig": {"s3OutputPath": f"s3://{bucket}/mnist/output"},
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    }
    if injections:
        spec["tags"] = tags(**injections)
    return spec


def training_job(name: str, namespace: str, **injections: str) -> dict[str, Any]:
    return {
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": training_spec(name, **injections),
    }
