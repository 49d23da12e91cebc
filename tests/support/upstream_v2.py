"""What the upstream v2 SageMaker components (kubeflow/pipelines components/aws/sagemaker/,
removed in 2026) declared: the outputs and inputs (name: KFP type) of the last component.yaml of
each, transcribed so that a drift of ours from theirs fails the tests that compare them."""

from __future__ import annotations

S, O, A, B = "String", "JsonObject", "JsonArray", "Bool"
_ACK = {"ack_resource_metadata": O, "conditions": A}
_NAMED = {**_ACK, "sagemaker_resource_name": S}

UPSTREAM_OUTPUTS: dict[str, dict[str, str]] = {
    "TrainingJob": {
        **_ACK,
        "creation_time": S,
        "debug_rule_evaluation_statuses": A,
        "failure_reason": S,
        "last_modified_time": S,
        "model_artifacts": O,
        "profiler_rule_evaluation_statuses": A,
        "profiling_status": S,
        "secondary_status": S,
        "training_job_status": S,
        "warm_pool_status": O,
    },
    "Endpoint": {
        **_NAMED,
        "creation_time": S,
        "endpoint_status": S,
        "failure_reason": S,
        "last_modified_time": S,
        "pending_deployment_summary": O,
        "production_variants": A,
    },
    "MonitoringSchedule": {
        **_NAMED,
        "creation_time": S,
        "failure_reason": S,
        "last_modified_time": S,
        "last_monitoring_execution_summary": O,
        "monitoring_schedule_status": S,
    },
    "Model": _NAMED,
    "EndpointConfig": _NAMED,
    "DataQualityJobDefinition": _NAMED,
    "ModelBiasJobDefinition": _NAMED,
    "ModelExplainabilityJobDefinition": _NAMED,
    "ModelQualityJobDefinition": _NAMED,
}


def _monitoring_definition_inputs(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}_app_specification": O,
        f"{prefix}_baseline_config": O,
        f"{prefix}_job_input": O,
        f"{prefix}_job_output_config": O,
        "job_definition_name": S,
        "job_resources": O,
        "network_config": O,
        "role_arn": S,
        "stopping_condition": O,
        "tags": A,
    }


UPSTREAM_INPUTS: dict[str, dict[str, str]] = {
    "TrainingJob": {
        "algorithm_specification": O,
        "checkpoint_config": O,
        "debug_hook_config": O,
        "debug_rule_configurations": A,
        "enable_inter_container_traffic_encryption": B,
        "enable_managed_spot_training": B,
        "enable_network_isolation": B,
        "environment": O,
        "experiment_config": O,
        "hyper_parameters": O,
        "input_data_config": A,
        "output_data_config": O,
        "profiler_config": O,
        "profiler_rule_configurations": A,
        "resource_config": O,
        "retry_strategy": O,
        "role_arn": S,
        "stopping_condition": O,
        "tags": A,
        "tensor_board_output_config": O,
        "training_job_name": S,
        "vpc_config": O,
    },
    "Model": {
        "containers": A,
        "enable_network_isolation": B,
        "execution_role_arn": S,
        "inference_execution_config": O,
        "model_name": S,
        "primary_container": O,
        "tags": A,
        "vpc_config": O,
    },
    "EndpointConfig": {
        "async_inference_config": O,
        "data_capture_config": O,
        "endpoint_config_name": S,
        "kms_key_id": S,
        "production_variants": A,
        "tags": A,
    },
    "Endpoint": {"deployment_config": O, "endpoint_config_name": S, "endpoint_name": S, "tags": A},
    "MonitoringSchedule": {"monitoring_schedule_config": O, "monitoring_schedule_name": S, "tags": A},
    "DataQualityJobDefinition": _monitoring_definition_inputs("data_quality"),
    "ModelBiasJobDefinition": _monitoring_definition_inputs("model_bias"),
    "ModelExplainabilityJobDefinition": _monitoring_definition_inputs("model_explainability"),
    "ModelQualityJobDefinition": _monitoring_definition_inputs("model_quality"),
}
