"""Small, valid specs for the kinds under test, with the simulator's injection tags."""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.kinds import load_kind

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


def training_arguments(namespace: str, *, spec: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid TrainingJob step's inputs in `namespace`, from `spec` (default: training_spec) less
    its name, so the runtime derives one; `None` overrides drop an input."""
    spec = spec or training_spec("unused")
    kind = load_kind("TrainingJob")
    arguments: dict[str, Any] = {kind.input_name(field): value for field, value in spec.items() if field != kind.name_field}
    arguments.update(namespace=namespace, **overrides)
    return {key: value for key, value in arguments.items() if value is not None}


# ----- hosting, batch, processing, monitoring: component arguments (snake_case inputs) -----

MODEL_IMAGE = KMEANS_IMAGE


def model_arguments(namespace: str, *, artifact: str = "s3://demo-bucket/mnist/output/job/output/model.tar.gz", **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "execution_role_arn": ROLE,
        "primary_container": {"image": MODEL_IMAGE, "modelDataURL": artifact},
        **extra,
    }


def endpoint_config_arguments(namespace: str, model_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "production_variants": [
            {"variantName": "main", "modelName": model_name, "initialInstanceCount": 1, "instanceType": "ml.m5.large"}
        ],
        **extra,
    }


def transform_arguments(namespace: str, model_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "model_name": model_name,
        "transform_input": {
            "contentType": "text/csv",
            "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": "s3://demo-bucket/mnist/batch-in"}},
        },
        "transform_output": {"s3OutputPath": "s3://demo-bucket/mnist/batch-out"},
        "transform_resources": {"instanceCount": 1, "instanceType": "ml.m5.large"},
        **extra,
    }


def processing_arguments(namespace: str, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "role_arn": ROLE,
        "app_specification": {"imageURI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/preprocess:1"},
        "processing_resources": {
            "clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 10}
        },
        "processing_output_config": {
            "outputs": [
                {
                    "outputName": "train",
                    "s3Output": {"s3URI": "s3://demo-bucket/prep/train", "localPath": "/opt/ml/processing/train", "s3UploadMode": "EndOfJob"},
                },
                {
                    "outputName": "test",
                    "s3Output": {"s3URI": "s3://demo-bucket/prep/test", "localPath": "/opt/ml/processing/test", "s3UploadMode": "EndOfJob"},
                },
            ]
        },
        **extra,
    }


def tuning_arguments(namespace: str, **extra: Any) -> dict[str, Any]:
    spec = training_spec("unused")
    return {
        "namespace": namespace,
        "hyper_parameter_tuning_job_config": {
            "strategy": "Bayesian",
            "hyperParameterTuningJobObjective": {"type_": "Minimize", "metricName": "test:msd"},
            "resourceLimits": {"maxNumberOfTrainingJobs": 3, "maxParallelTrainingJobs": 3},
            "parameterRanges": {
                "integerParameterRanges": [{"name": "mini_batch_size", "minValue": "100", "maxValue": "500"}],
                "continuousParameterRanges": [],
                "categoricalParameterRanges": [],
            },
        },
        "training_job_definition": {
            "algorithmSpecification": spec["algorithmSpecification"],
            "roleARN": spec["roleARN"],
            "staticHyperParameters": {"k": "10", "feature_dim": "784"},
            "inputDataConfig": spec["inputDataConfig"],
            "outputDataConfig": spec["outputDataConfig"],
            "resourceConfig": spec["resourceConfig"],
            "stoppingCondition": spec["stoppingCondition"],
        },
        **extra,
    }


MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
# The monitoring job definitions, by the prefix of their kind-specific inputs.
DEFINITION_PREFIXES = {
    "DataQualityJobDefinition": "data_quality",
    "ModelBiasJobDefinition": "model_bias",
    "ModelExplainabilityJobDefinition": "model_explainability",
    "ModelQualityJobDefinition": "model_quality",
}


def definition_arguments(kind: str, namespace: str, *, endpoint_name: str = "monitored-endpoint", **extra: Any) -> dict[str, Any]:
    """A valid monitoring job definition step's inputs, for any of the four kinds."""
    prefix = DEFINITION_PREFIXES[kind]
    job_input: dict[str, Any] = {"endpointInput": {"endpointName": endpoint_name, "localPath": "/opt/ml/processing/input"}}
    if prefix in ("model_bias", "model_quality"):
        job_input["groundTruthS3Input"] = {"s3URI": "s3://demo-bucket/monitor/ground-truth"}
    app: dict[str, Any] = {"imageURI": MONITOR_IMAGE}
    if prefix in ("model_bias", "model_explainability"):
        app["configURI"] = "s3://demo-bucket/monitor/analysis_config.json"
    if prefix == "model_quality":
        app["problemType"] = "BinaryClassification"
    return {
        "namespace": namespace,
        "role_arn": "arn:aws:iam::123456789012:role/monitor",
        f"{prefix}_app_specification": app,
        f"{prefix}_job_input": job_input,
        f"{prefix}_job_output_config": {
            "monitoringOutputs": [{"s3Output": {"s3URI": "s3://demo-bucket/monitor", "localPath": "/opt/ml/processing/output"}}]
        },
        "job_resources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 20}},
        **extra,
    }


def schedule_arguments(namespace: str, definition_name: str, *, cron: str = "cron(0 * ? * * *)", **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "monitoring_schedule_config": {
            "monitoringJobDefinitionName": definition_name,
            "monitoringType": "DataQuality",
            "scheduleConfig": {"scheduleExpression": cron},
        },
        **extra,
    }


# ----- model registry, inference components, Ground Truth, SageMaker Pipelines -------------

PRIVATE_WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"


def model_package_group_arguments(namespace: str, group: str, **extra: Any) -> dict[str, Any]:
    return {"namespace": namespace, "model_package_group_name": group,
            "model_package_group_description": "k-means models of the MNIST digits", **extra}


def model_package_arguments(namespace: str, group: str, *, artifact: str = "s3://demo-bucket/mnist/output/job/output/model.tar.gz",
                            **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "model_package_group_name": group,
        "model_approval_status": "PendingManualApproval",
        "inference_specification": {
            "containers": [{"image": MODEL_IMAGE, "modelDataURL": artifact}],
            "supportedContentTypes": ["text/csv"],
            "supportedResponseMIMETypes": ["application/json"],
        },
        **extra,
    }


def step_arguments(kind: str, namespace: str, **extra: Any) -> dict[str, Any]:
    """Valid inputs of a step of any kind with a component. Names of other resources (a model, an
    endpoint config, a job definition) are plain strings: nothing checks them before the controller."""
    if kind in DEFINITION_PREFIXES:
        return definition_arguments(kind, namespace, **extra)
    builders: dict[str, Any] = {
        "TrainingJob": lambda: training_arguments(namespace, **extra),
        "HyperParameterTuningJob": lambda: tuning_arguments(namespace, **extra),
        "Model": lambda: model_arguments(namespace, **extra),
        "EndpointConfig": lambda: endpoint_config_arguments(namespace, "model-for-contract", **extra),
        "Endpoint": lambda: {"namespace": namespace, "endpoint_config_name": "endpoint-config-for-contract", **extra},
        "TransformJob": lambda: transform_arguments(namespace, "model-for-contract", **extra),
        "ProcessingJob": lambda: processing_arguments(namespace, **extra),
        "MonitoringSchedule": lambda: schedule_arguments(namespace, "definition-for-contract", **extra),
        "ModelPackageGroup": lambda: model_package_group_arguments(namespace, "group-for-contract", **extra),
        "ModelPackage": lambda: model_package_arguments(namespace, "group-for-contract", **extra),
        "InferenceComponent": lambda: inference_component_arguments(namespace, "endpoint-for-contract", "model-for-contract", **extra),
        "LabelingJob": lambda: labeling_arguments(namespace, **extra),
        "Pipeline": lambda: pipeline_arguments(namespace, "pipeline-for-contract", **extra),
        "PipelineExecution": lambda: pipeline_execution_arguments(namespace, "pipeline-for-contract", **extra),
    }
    return dict(builders[kind]())


def inference_endpoint_config_arguments(namespace: str, **extra: Any) -> dict[str, Any]:
    """An endpoint config for inference components: instances on its variant, no model."""
    return {
        "namespace": namespace,
        "execution_role_arn": ROLE,
        "production_variants": [{"variantName": "main", "initialInstanceCount": 2, "instanceType": "ml.m5.large"}],
        **extra,
    }


def inference_component_arguments(namespace: str, endpoint: str, model: str, *, copies: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "endpoint_name": endpoint,
        "variant_name": "main",
        "specification": {"modelName": model,
                          "computeResourceRequirements": {"numberOfCPUCoresRequired": 1, "minMemoryRequiredInMb": 1024}},
        "runtime_config": {"copyCount": copies},
        **extra,
    }


def labeling_arguments(namespace: str, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "role_arn": ROLE,
        "label_attribute_name": "digit",
        "input_config": {"dataSource": {"s3DataSource": {"manifestS3URI": "s3://demo-bucket/labeling/input.manifest"}}},
        "output_config": {"s3OutputPath": "s3://demo-bucket/labeling/output", "kmsKeyID": ""},
        "human_task_config": {
            "workteamARN": PRIVATE_WORKTEAM,
            "uiConfig": {"uiTemplateS3URI": "s3://demo-bucket/labeling/template.liquid"},
            "preHumanTaskLambdaARN": "arn:aws:lambda:us-east-1:432418664414:function:PRE-ImageMultiClass",
            "annotationConsolidationConfig": {
                "annotationConsolidationLambdaARN": "arn:aws:lambda:us-east-1:432418664414:function:ACS-ImageMultiClass"},
            "taskTitle": "Which digit is it?",
            "taskDescription": "Pick the digit shown in the image",
            "numberOfHumanWorkersPerDataObject": 1,
            "taskTimeLimitInSeconds": 300,
            "taskAvailabilityLifetimeInSeconds": 2592000,
        },
        **extra,
    }


def pipeline_definition(*steps: str) -> str:
    import json

    return json.dumps({
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputData", "Type": "String", "DefaultValue": "s3://demo-bucket/in"}],
        "Steps": [{"Name": step, "Type": "Processing", "Arguments": {}} for step in steps or ("Prepare", "Train")],
    })


def pipeline_arguments(namespace: str, name: str, *, steps: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"namespace": namespace, "pipeline_name": name, "role_arn": ROLE,
            "pipeline_definition": pipeline_definition(*steps), **extra}


def pipeline_execution_arguments(namespace: str, pipeline: str, **extra: Any) -> dict[str, Any]:
    return {"namespace": namespace, "pipeline_name": pipeline,
            "pipeline_parameters": [{"name": "InputData", "value": "s3://demo-bucket/in/today"}], **extra}
