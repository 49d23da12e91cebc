"""Train k-means on MNIST, register the trained model, then serve it twice: batch predictions
over an S3 prefix and a live endpoint. A data step puts the data set into the bucket first; then
seven SageMaker resources, each created by one step (see README.md):

    sample data -> TrainingJob -+-> ModelPackageGroup -> ModelPackage   (register the model)
                                +-> Model -+-> TransformJob
                                           +-> EndpointConfig -> Endpoint
"""

from kfp import dsl

from kfp_compat import component, never_cache, sample_data

SampleData = sample_data()
TrainingJob = component("TrainingJob")
Model = component("Model")
TransformJob = component("TransformJob")
EndpointConfig = component("EndpointConfig")
Endpoint = component("Endpoint")
ModelPackageGroup = component("ModelPackageGroup")
ModelPackage = component("ModelPackage")

# SageMaker's built-in k-means algorithm in us-east-1; other regions use another registry account.
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
INSTANCE_TYPE = "ml.m5.large"


@dsl.pipeline(
    name="sagemaker-mnist-kmeans",
    description="Train k-means on MNIST with SageMaker, run a batch transform and deploy an endpoint.",
)
def mnist_kmeans(
    role_arn: str,
    bucket: str,
    region: str = "us-east-1",
    image: str = KMEANS_IMAGE,
    k: int = 10,
    feature_dim: int = 784,
    no_controller_seconds: int = 120,
    model_package_group: str = "mnist-kmeans",
    model_approval_status: str = "PendingManualApproval",
):
    data = f"s3://{bucket}/mnist-kmeans"
    common = {"region": region, "no_controller_seconds": no_controller_seconds}

    # The training images, test images and batch input, generated (no download) into the bucket.
    upload = SampleData(bucket=bucket, prefix="mnist-kmeans", region=region)

    train = TrainingJob(
        role_arn=role_arn,
        algorithm_specification={"trainingImage": image, "trainingInputMode": "File"},
        # SageMaker hyperparameters are strings; the numbers are rendered into them.
        hyper_parameters={"k": k, "feature_dim": feature_dim},
        input_data_config=[
            {
                "channelName": "train",
                "contentType": "text/csv",
                "dataSource": {
                    "s3DataSource": {
                        "s3DataType": "S3Prefix",
                        "s3URI": f"{data}/train/",
                        "s3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        output_data_config={"s3OutputPath": f"{data}/models/"},
        resource_config={"instanceCount": 1, "instanceType": INSTANCE_TYPE, "volumeSizeInGB": 10},
        stopping_condition={"maxRuntimeInSeconds": 3600},
        **common,
    ).after(upload)

    # Register the trained model: a new version in the model registry's group, which the first
    # run creates and later runs reuse (or adopt, if it was made elsewhere).
    group = ModelPackageGroup(
        model_package_group_name=model_package_group,
        model_package_group_description="k-means models of the MNIST digits",
        **common,
    )
    registered = ModelPackage(
        model_package_group_name=group.outputs["model_package_group_name"],
        model_approval_status=model_approval_status,
        model_package_description="SageMaker k-means on MNIST",
        inference_specification={
            "containers": [{"image": image, "modelDataURL": train.outputs["model_artifact_url"]}],
            "supportedContentTypes": ["text/csv", "application/x-recordio-protobuf"],
            "supportedResponseMIMETypes": ["application/json"],
        },
        **common,
    )

    # The built-in algorithm's image also serves its models.
    model = Model(
        execution_role_arn=role_arn,
        primary_container={"image": image, "modelDataURL": train.outputs["model_artifact_url"]},
        **common,
    )

    transform = TransformJob(
        model_name=model.outputs["model_name"],
        transform_input={
            "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": f"{data}/batch-input/"}},
            "contentType": "text/csv",
            "splitType": "Line",
        },
        transform_output={"s3OutputPath": f"{data}/batch-output/", "assembleWith": "Line"},
        transform_resources={"instanceCount": 1, "instanceType": INSTANCE_TYPE},
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

    for task in (upload, train, group, registered, model, transform, endpoint_config, endpoint):
        never_cache(task)


PIPELINE = mnist_kmeans
