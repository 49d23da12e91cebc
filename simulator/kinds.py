"""Identity of each simulated resource kind: its name field, ARN shape and the
errors SageMaker returns when a name is unknown or already taken.

The not-found code and message opening for each kind are the ones the ACK
sagemaker-controller matches in its generated sdkFind (ValidationException plus
a message prefix for some kinds, ResourceNotFound for others); changing them
breaks deletion and adoption in the controller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ApiError

# SageMaker's naming rule for most resources; tuning jobs allow only 32 characters.
_NAME_63 = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
_NAME_32 = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
_MODEL_NAME = r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"

_UNIQUE = (
    "{Noun} names must be unique within an AWS account and region, "
    "and a {noun} with this name already exists ({arn})"
)


@dataclass(frozen=True)
class KindInfo:
    kind: str
    name_field: str
    arn_field: str
    arn_type: str
    noun: str
    name_pattern: str
    max_name_length: int
    not_found_code: str
    not_found_message: str
    exists_code: str
    exists_message: str

    def arn(self, region: str, account_id: str, name: str) -> str:
        # SageMaker lower-cases the name inside ARNs.
        return f"arn:aws:sagemaker:{region}:{account_id}:{self.arn_type}/{name.lower()}"

    def not_found(self, name: str, arn: str) -> ApiError:
        return ApiError(self.not_found_code, self._fill(self.not_found_message, name, arn))

    def already_exists(self, name: str, arn: str) -> ApiError:
        return ApiError(self.exists_code, self._fill(self.exists_message, name, arn))

    def matches_name(self, name: str) -> bool:
        return re.fullmatch(self.name_pattern, name) is not None

    def _fill(self, template: str, name: str, arn: str) -> str:
        return template.format(name=name, arn=arn, noun=self.noun, Noun=self.noun[:1].upper() + self.noun[1:])


def _job(kind: str, arn_type: str, noun: str, not_found_code: str, not_found_message: str,
         pattern: str = _NAME_63, max_len: int = 63) -> KindInfo:
    return KindInfo(kind, f"{kind}Name", f"{kind}Arn", arn_type, noun, pattern, max_len,
                    not_found_code, not_found_message, "ResourceInUse", _UNIQUE)


def _hosting(kind: str, arn_type: str, noun: str, pattern: str = _NAME_63) -> KindInfo:
    return KindInfo(kind, f"{kind}Name", f"{kind}Arn", arn_type, noun, pattern, 63,
                    "ValidationException", 'Could not find {noun} "{arn}".',
                    "ValidationException", 'Cannot create already existing {noun} "{arn}".')


def _job_definition(kind: str, arn_type: str, noun: str) -> KindInfo:
    return KindInfo(kind, "JobDefinitionName", "JobDefinitionArn", arn_type, noun, _NAME_63, 63,
                    "ResourceNotFound", "Could not find {noun} with name {name}",
                    "ResourceInUse", "A {noun} with name {name} already exists ({arn})")


TRAINING_JOB = _job("TrainingJob", "training-job", "training job",
                    "ValidationException", "Requested resource not found.")
TUNING_JOB = _job("HyperParameterTuningJob", "hyper-parameter-tuning-job", "hyperparameter tuning job",
                  "ResourceNotFound", "Amazon SageMaker can't find a tuning job with name {name}",
                  _NAME_32, 32)
TRANSFORM_JOB = _job("TransformJob", "transform-job", "transform job",
                     "ValidationException", "Could not find requested job with name {name}")
PROCESSING_JOB = _job("ProcessingJob", "processing-job", "processing job",
                      "ValidationException", "Could not find requested job with name {name}")
MODEL = _hosting("Model", "model", "model", _MODEL_NAME)
ENDPOINT_CONFIG = _hosting("EndpointConfig", "endpoint-config", "endpoint configuration")
ENDPOINT = _hosting("Endpoint", "endpoint", "endpoint")
MONITORING_SCHEDULE = KindInfo(
    "MonitoringSchedule", "MonitoringScheduleName", "MonitoringScheduleArn", "monitoring-schedule",
    "monitoring schedule", _NAME_63, 63,
    "ResourceNotFound", "Could not find {noun} with name {name}",
    "ResourceInUse", "A {noun} with name {name} already exists ({arn})")
DATA_QUALITY_JOB_DEFINITION = _job_definition(
    "DataQualityJobDefinition", "data-quality-job-definition", "data quality job definition")
MODEL_BIAS_JOB_DEFINITION = _job_definition(
    "ModelBiasJobDefinition", "model-bias-job-definition", "model bias job definition")
MODEL_EXPLAINABILITY_JOB_DEFINITION = _job_definition(
    "ModelExplainabilityJobDefinition", "model-explainability-job-definition",
    "model explainability job definition")
MODEL_QUALITY_JOB_DEFINITION = _job_definition(
    "ModelQualityJobDefinition", "model-quality-job-definition", "model quality job definition")

# The model registry: the controller treats ValidationException "... does not exist." as not found.
MODEL_PACKAGE_GROUP = KindInfo(
    "ModelPackageGroup", "ModelPackageGroupName", "ModelPackageGroupArn", "model-package-group",
    "model package group", _NAME_63, 63,
    "ValidationException", "ModelPackageGroup {arn} does not exist.",
    "ValidationException", "Model Package Group already exists: {arn}")
# A version's name is "<group>/<version>" (its ARN's last two parts); clients address it by ARN.
MODEL_PACKAGE = KindInfo(
    "ModelPackage", "ModelPackageName", "ModelPackageArn", "model-package", "model package", _NAME_63, 63,
    "ValidationException", "ModelPackage {arn} does not exist.",
    "ValidationException", "Model Package already exists: {arn}")
# Prefix "Could not find inference component", as for the other hosting kinds.
INFERENCE_COMPONENT = _hosting("InferenceComponent", "inference-component", "inference component")
# ACK maps any ValidationException from DescribeLabelingJob to not found (and ResourceNotFound
# to Terminal), so SageMaker's answer for an unknown labeling job is a ValidationException.
LABELING_JOB = _job("LabelingJob", "labeling-job", "labeling job",
                    "ValidationException", "Could not find requested job with name {name}")
PIPELINE = KindInfo(
    "Pipeline", "PipelineName", "PipelineArn", "pipeline", "pipeline", r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", 256,
    "ResourceNotFound", "Pipeline '{arn}' does not exist.",
    "ValidationException",
    "Pipeline names must be unique within an AWS account and region. Pipeline with name ({name}) already exists.")
# An execution has no name: it is "<pipeline>/execution/<id>" here, its ARN's last three parts.
# The controller's not-found suffix is "does not exist", without a full stop.
PIPELINE_EXECUTION = KindInfo(
    "PipelineExecution", "PipelineExecutionArn", "PipelineExecutionArn", "pipeline", "pipeline execution",
    r".+", 1024,
    "ResourceNotFound", "Pipeline execution {arn} does not exist",
    "ConflictException", "Pipeline execution {arn} already exists")

ALL_KINDS: tuple[KindInfo, ...] = (
    TRAINING_JOB, TUNING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT, TRANSFORM_JOB, PROCESSING_JOB,
    MONITORING_SCHEDULE, DATA_QUALITY_JOB_DEFINITION, MODEL_BIAS_JOB_DEFINITION,
    MODEL_EXPLAINABILITY_JOB_DEFINITION, MODEL_QUALITY_JOB_DEFINITION,
    MODEL_PACKAGE_GROUP, MODEL_PACKAGE, INFERENCE_COMPONENT, LABELING_JOB, PIPELINE, PIPELINE_EXECUTION,
)
BY_KIND: dict[str, KindInfo] = {k.kind: k for k in ALL_KINDS}
