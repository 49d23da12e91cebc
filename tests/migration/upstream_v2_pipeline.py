"""A pipeline written the way the samples of the upstream v2 SageMaker components were
(kubeflow/pipelines components/aws/sagemaker, removed in 2026): training, hosting with model
monitoring (Model, EndpointConfig, Endpoint, DataQualityJobDefinition, MonitoringSchedule, each
step reading the previous one's `sagemaker_resource_name`) and an endpoint update, pointed at this
project's component.yaml files. What a migrating user changes is only what the README's
"Migrating from the upstream v2 components" lists:

- component paths (`Modelv2` is `Model` here);
- channel keys in camelCase (upstream's samples carried `RecordWrapperType` and `InputMode`,
  which the API server dropped and the step refuses);
- readers of object outputs use `json.loads` instead of `ast.literal_eval`;
- KFP 2.x needs type annotations on pipeline parameters (1.8 accepts them too).

It compiles with KFP SDK 1.8.22 and 2.x (samples/compile.py) and runs with run-local. Resource
names are pipeline parameters, as in upstream's samples; the test gives each run its own.
"""

from datetime import datetime
from pathlib import Path

from kfp import components, dsl

COMPONENTS = Path(__file__).resolve().parents[2] / "components"


def _load(kind: str):  # noqa: ANN202 - the SDKs' component factories have different types
    return components.load_component_from_file(str(COMPONENTS / kind / "component.yaml"))


sagemaker_TrainingJob_op = _load("TrainingJob")
sagemaker_Model_op = _load("Model")
sagemaker_EndpointConfig_op = _load("EndpointConfig")
sagemaker_Endpoint_op = _load("Endpoint")
sagemaker_DataQualityJobDefinition_op = _load("DataQualityJobDefinition")
sagemaker_MonitoringSchedule_op = _load("MonitoringSchedule")

# Upstream's mnist sample extracted the model artifact with a function component that called
# ast.literal_eval on the `model_artifacts` output; the output is JSON now, so json.loads.
get_s3_model_artifact_op = components.load_component_from_text(
    """
name: Get s3 model artifact
inputs:
- {name: model_artifacts, type: JsonObject}
outputs:
- {name: s3_model_artifacts, type: String}
implementation:
  container:
    image: python:3.11-slim
    command:
    - python3
    - -c
    - |
      import json, pathlib, sys
      args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
      model_artifacts = json.loads(args["--model_artifacts"])
      output = pathlib.Path(args["--output"])
      output.parent.mkdir(parents=True, exist_ok=True)
      output.write_text(model_artifacts["s3ModelArtifacts"])
    - --model_artifacts
    - {inputValue: model_artifacts}
    - --output
    - {outputPath: s3_model_artifacts}
"""
)

# Reads status outputs of every type the upstream components declared and fails the run if one
# does not parse or says the resource is not where the pipeline needs it.
check_outputs_op = components.load_component_from_text(
    """
name: Check upstream outputs
inputs:
- {name: training_job_status, type: String}
- {name: training_conditions, type: JsonArray}
- {name: model_metadata, type: JsonObject}
- {name: endpoint_status, type: String}
- {name: production_variants, type: JsonArray}
- {name: monitoring_schedule_status, type: String}
implementation:
  container:
    image: python:3.11-slim
    command:
    - python3
    - -c
    - |
      import json, sys
      args = {k.lstrip("-"): v for k, v in zip(sys.argv[1::2], sys.argv[2::2])}
      synced = [c for c in json.loads(args["training_conditions"]) if c["type"] == "ACK.ResourceSynced"]
      checks = {
          "training_job_status": args["training_job_status"] == "Completed",
          "training_conditions": bool(synced) and synced[0]["status"] == "True",
          "model_metadata": ":model/" in json.loads(args["model_metadata"])["arn"],
          "endpoint_status": args["endpoint_status"] == "InService",
          "production_variants": isinstance(json.loads(args["production_variants"]), list),
          "monitoring_schedule_status": args["monitoring_schedule_status"] == "Scheduled",
      }
      print(json.dumps(checks, sort_keys=True))
      sys.exit(0 if all(checks.values()) else 1)
    - --training_job_status
    - {inputValue: training_job_status}
    - --training_conditions
    - {inputValue: training_conditions}
    - --model_metadata
    - {inputValue: model_metadata}
    - --endpoint_status
    - {inputValue: endpoint_status}
    - --production_variants
    - {inputValue: production_variants}
    - --monitoring_schedule_status
    - {inputValue: monitoring_schedule_status}
"""
)

SAGEMAKER_REGION = "us-east-1"
TRAINING_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
MODEL_MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
name_prefix = datetime.now().strftime("%Y-%m-%d-%H-%M-%S")


@dsl.pipeline(name="upstream-v2-migration", description="Training, hosting with model monitoring, endpoint update")
def upstream_v2_pipeline(
    sagemaker_role_arn: str,
    s3_bucket_name: str,
    region: str = SAGEMAKER_REGION,
    training_image: str = TRAINING_IMAGE,
    model_name: str = name_prefix + "-model",
    endpoint_config_name: str = name_prefix + "-endpointcfg",
    second_endpoint_config_name: str = name_prefix + "-endpointcfg-2",
    endpoint_name: str = name_prefix + "-endpoint",
    job_definition_name: str = name_prefix + "-data-qual-job-defi",
    monitoring_schedule_name: str = name_prefix + "-monitoring-schedule",
):
    training = sagemaker_TrainingJob_op(
        region=region,
        algorithm_specification={"trainingImage": training_image, "trainingInputMode": "File"},
        enable_inter_container_traffic_encryption=False,
        enable_network_isolation=False,
        hyper_parameters={"k": "10", "feature_dim": "784"},
        input_data_config=[
            {
                "channelName": "train",
                "dataSource": {
                    "s3DataSource": {
                        "s3DataType": "S3Prefix",
                        "s3URI": f"s3://{s3_bucket_name}/mnist_kmeans_example/train_data",
                        "s3DataDistributionType": "FullyReplicated",
                    },
                },
                "compressionType": "None",
                "recordWrapperType": "None",
                "inputMode": "File",
            }
        ],
        output_data_config={"s3OutputPath": f"s3://{s3_bucket_name}"},
        resource_config={"instanceCount": 1, "instanceType": "ml.m4.xlarge", "volumeSizeInGB": 10},
        role_arn=sagemaker_role_arn,
        stopping_condition={"maxRuntimeInSeconds": 3600},
    )

    model_artifact_url = get_s3_model_artifact_op(model_artifacts=training.outputs["model_artifacts"]).output

    Model = sagemaker_Model_op(
        region=region,
        execution_role_arn=sagemaker_role_arn,
        model_name=model_name,
        primary_container={
            "containerHostname": "kmeans",
            "environment": {"my_env_key": "my_env_value"},
            "image": training_image,
            "mode": "SingleModel",
            "modelDataURL": model_artifact_url,
        },
    )

    data_capture_config = {
        "enableCapture": True,
        "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
        "initialSamplingPercentage": 100,
        "destinationS3URI": f"s3://{s3_bucket_name}/model-monitor/datacapture",
    }

    def production_variants(instance_type: str) -> list:
        return [
            {
                "initialInstanceCount": 1,
                "initialVariantWeight": 1,
                "instanceType": instance_type,
                "modelName": Model.outputs["sagemaker_resource_name"],
                "variantName": "instanceVariant",
                "volumeSizeInGB": 10,
            }
        ]

    EndpointConfig = sagemaker_EndpointConfig_op(
        region=region,
        endpoint_config_name=endpoint_config_name,
        data_capture_config=data_capture_config,
        production_variants=production_variants("ml.m5.xlarge"),
    )

    Endpoint = sagemaker_Endpoint_op(
        region=region,
        endpoint_config_name=EndpointConfig.outputs["sagemaker_resource_name"],
        endpoint_name=endpoint_name,
    )

    DataQualityJobDefinition = sagemaker_DataQualityJobDefinition_op(
        region=region,
        data_quality_app_specification={"imageURI": MODEL_MONITOR_IMAGE},
        data_quality_baseline_config={
            "constraintsResource": {"s3URI": f"s3://{s3_bucket_name}/model-monitor/baselining/constraints.json"},
            "statisticsResource": {"s3URI": f"s3://{s3_bucket_name}/model-monitor/baselining/statistics.json"},
        },
        data_quality_job_input={
            "endpointInput": {
                "endpointName": Endpoint.outputs["sagemaker_resource_name"],
                "localPath": "/opt/ml/processing/input/endpoint",
                "s3DataDistributionType": "FullyReplicated",
                "s3InputMode": "File",
            }
        },
        data_quality_job_output_config={
            "monitoringOutputs": [
                {
                    "s3Output": {
                        "localPath": "/opt/ml/processing/output",
                        "s3URI": f"s3://{s3_bucket_name}/model-monitor/reports/data-quality-job-definition/",
                        "s3UploadMode": "Continuous",
                    }
                }
            ]
        },
        job_definition_name=job_definition_name,
        job_resources={"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 20}},
        role_arn=sagemaker_role_arn,
        stopping_condition={"maxRuntimeInSeconds": 1800},
    )

    MonitoringSchedule = sagemaker_MonitoringSchedule_op(
        region=region,
        monitoring_schedule_config={
            "monitoringType": "DataQuality",
            "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"},
            "monitoringJobDefinitionName": DataQualityJobDefinition.outputs["sagemaker_resource_name"],
        },
        monitoring_schedule_name=monitoring_schedule_name,
    )

    # The endpoint update of upstream's hosting-update sample: a second config, then the same
    # Endpoint component on the same endpoint name.
    SecondEndpointConfig = sagemaker_EndpointConfig_op(
        region=region,
        endpoint_config_name=second_endpoint_config_name,
        data_capture_config=data_capture_config,
        production_variants=production_variants("ml.m5.large"),
    )

    EndpointUpdate = sagemaker_Endpoint_op(
        region=region,
        endpoint_config_name=SecondEndpointConfig.outputs["sagemaker_resource_name"],
        endpoint_name=endpoint_name,
    ).after(MonitoringSchedule)

    check_outputs_op(
        training_job_status=training.outputs["training_job_status"],
        training_conditions=training.outputs["conditions"],
        model_metadata=Model.outputs["ack_resource_metadata"],
        endpoint_status=EndpointUpdate.outputs["endpoint_status"],
        production_variants=EndpointUpdate.outputs["production_variants"],
        monitoring_schedule_status=MonitoringSchedule.outputs["monitoring_schedule_status"],
    )


PIPELINE = upstream_v2_pipeline
