# syntax=docker/dockerfile:1
# The image every generated component runs:  ghcr.io/sagemaker-ack-kfp/components:<version>
# codegen/config.yaml names the image, and `make generate` stamps the tag from pyproject.toml's
# version into components/*/component.yaml; build and push the same tag (VERSION below must equal
# the project version: tests/unit/test_packaging.py checks it):
#
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/sagemaker-ack-kfp/components:0.1.0 .
#
# No ENTRYPOINT: KFP sets the container's command (python3 -u -m sagemaker_ack_kfp.component ...).

# ----- build: the project as a wheel (runtime dependencies only, no dev extras) --------------
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .

# ----- runtime --------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sagemaker-ack-kfp components" \
      org.opencontainers.image.description="SageMaker components for Kubeflow Pipelines, built on the ACK SageMaker controller" \
      org.opencontainers.image.ref.name="ghcr.io/sagemaker-ack-kfp/components:${VERSION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The wheel is mounted, not copied: it leaves no layer behind. Dependencies come from PyPI.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --root-user-action=ignore /wheels/*.whl \
    && sagemaker-ack-kfp --help >/dev/null \
    && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin components
# Numeric, so that runAsNonRoot can verify it.
USER 1000:1000
WORKDIR /home/components
CMD ["sagemaker-ack-kfp", "--help"]
