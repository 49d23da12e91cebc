"""Tune k-means on MNIST, retrain with the best hyperparameters, and deploy that model, after a
data step has put the data set into the bucket (see README.md):

    sample data -> HyperParameterTuningJob -> TrainingJob -> Model -> EndpointConfig -> Endpoint
"""

from kfp import dsl

from kfp_compat import component, never_cache, sample_data

SampleData = sample_data()
HyperParameterTuningJob = component("HyperParameterTuningJob")
TrainingJob = component("TrainingJob")
Model = component("Model")
EndpointConfig = component("EndpointConfig")
Endpoint = component("Endpoint")

# SageMaker's built-in k-means algorithm in us-east-1; other regions use another registry account.
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
INSTANCE_TYPE = "ml.m5.large"


def _channel(name: str, uri: str) -> dict:
    return {
        "channelName": name,
        "contentType": "text/csv",
        "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": uri, "s3DataDistributionType": "FullyReplicated"}},
    }


@dsl.pipeline(
    name="sagemaker-kmeans-tuning",
    description="Tune k-means on MNIST with SageMaker, retrain with the best hyperparameters and deploy the model.",
)
def kmeans_tuning(
    role_arn: str,
    bucket: str,
    region: str = "us-east-1",
    image: str = KMEANS_IMAGE,
    no_controller_seconds: int = 120,
):
    data = f"s3://{bucket}/mnist-kmeans"
    common = {"region": region, "no_controller_seconds": no_controller_seconds}
    channels = [_channel("train", f"{data}/train/"), _channel("test", f"{data}/test/")]
    algorithm = {"trainingImage": image, "trainingInputMode": "File"}
    resources = {"instanceCount": 1, "instanceType": INSTANCE_TYPE, "volumeSizeInGB": 10}
    stopping = {"maxRuntimeInSeconds": 3600}

    # The training and test images, generated (no download) into the bucket.
    upload = SampleData(bucket=bucket, prefix="mnist-kmeans", region=region)

    tuning = HyperParameterTuningJob(
        hyper_parameter_tuning_job_config={
            "strategy": "Bayesian",
            # k-means reports test:msd (mean squared distance to the nearest centre) on the test channel.
            "hyperParameterTuningJobObjective": {"type_": "Minimize", "metricName": "test:msd"},
            # Constants: a pipeline parameter inside a dict arrives as text, and these must be numbers.
            "resourceLimits": {"maxNumberOfTrainingJobs": 4, "maxParallelTrainingJobs": 2},
            "parameterRanges": {
                "integerParameterRanges": [
                    {"name": "k", "minValue": "5", "maxValue": "20", "scalingType": "Linear"},
                    {"name": "extra_center_factor", "minValue": "4", "maxValue": "10", "scalingType": "Linear"},
                ],
                "categoricalParameterRanges": [
                    {"name": "init_method", "values": ["kmeans++", "random"]},
                    # A one-value range: feature_dim is fixed, but listing it here puts it in the
                    # best hyperparameters, so the retraining below gets every value it needs.
                    {"name": "feature_dim", "values": ["784"]},
                ],
            },
            "trainingJobEarlyStoppingType": "Off",
        },
        training_job_definition={
            "algorithmSpecification": algorithm,
            "roleARN": role_arn,
            "inputDataConfig": channels,
            "outputDataConfig": {"s3OutputPath": f"{data}/tuning/"},
            "resourceConfig": resources,
            "stoppingCondition": stopping,
        },
        **common,
    ).after(upload)

    train = TrainingJob(
        role_arn=role_arn,
        algorithm_specification=algorithm,
        hyper_parameters=tuning.outputs["best_hyperparameters"],
        input_data_config=channels,
        output_data_config={"s3OutputPath": f"{data}/models/"},
        resource_config=resources,
        stopping_condition=stopping,
        **common,
    )

    model = Model(
        execution_role_arn=role_arn,
        primary_container={"image": image, "modelDataURL": train.outputs["model_artifact_url"]},
        **common,
    )

    endpoint_config = EndpointConfig(
        production_variants=[
            {
                "variantName": "all-traffic",
                "modelName": model.outputs["model_name"],
                "initialInstanceCount": 1,
                "instanceType": INSTANCE_TYPE,
                "initialVariantWeight": 1.0,
            }
        ],
        **common,
    )

    endpoint = Endpoint(endpoint_config_name=endpoint_config.outputs["endpoint_config_name"], **common)

    for task in (upload, tuning, train, model, endpoint_config, endpoint):
        never_cache(task)


PIPELINE = kmeans_tuning
