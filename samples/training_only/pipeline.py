"""Train k-means on MNIST with a SageMaker training job, after a data step has put the data set
into the bucket. The smallest useful pipeline, meant to be read first (see README.md)."""

from kfp import dsl

from kfp_compat import component, never_cache, sample_data

SampleData = sample_data()
TrainingJob = component("TrainingJob")

# SageMaker's built-in k-means algorithm in us-east-1; other regions use another registry account.
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


@dsl.pipeline(name="sagemaker-training-only", description="Train k-means on MNIST with one SageMaker training job.")
def training_only(
    role_arn: str,
    bucket: str,
    region: str = "us-east-1",
    image: str = KMEANS_IMAGE,
    no_controller_seconds: int = 120,
):
    # The training images, generated (no download) into s3://<bucket>/mnist-kmeans/train/.
    upload = SampleData(bucket=bucket, prefix="mnist-kmeans", region=region)
    train = TrainingJob(
        role_arn=role_arn,
        region=region,
        algorithm_specification={"trainingImage": image, "trainingInputMode": "File"},
        hyper_parameters={"k": "10", "feature_dim": "784"},
        input_data_config=[
            {
                "channelName": "train",
                "contentType": "text/csv",
                "dataSource": {
                    "s3DataSource": {
                        "s3DataType": "S3Prefix",
                        "s3URI": f"s3://{bucket}/mnist-kmeans/train/",
                        "s3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        output_data_config={"s3OutputPath": f"s3://{bucket}/mnist-kmeans/models/"},
        # Plain integers: KFP 2.x turns them into floats on the way, the step turns them back.
        resource_config={"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 10},
        stopping_condition={"maxRuntimeInSeconds": 3600},
        no_controller_seconds=no_controller_seconds,
    ).after(upload)
    never_cache(upload)
    never_cache(train)


PIPELINE = training_only
