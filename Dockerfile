# syntax=docker/dockerfile:1
# The image every generated component runs:  ghcr.io/sagemaker-ack-kfp/components:<version>
# codegen/config.yaml names the image, and `make generate` stamps the tag from pyproject.toml's
# version into components/*/component.yaml; build and push the same tag (VERSION below must equal
# the project version: tests/unit/test_packaging.py checks it):
#
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/sagemaker-ack-kfp/components:0.1.0 .
#
# BASE_IMAGE is any Debian-like image with python3 3.11 and its venv module. The default is the
# public Python image; the local stack builds on a base it makes from Debian's packages instead
# (stack/images.py: podman build --pull=never --build-arg BASE_IMAGE=localhost/...).
# The project lives in a virtualenv, /opt/venv, first on PATH: Debian's own python3 refuses
# system-wide pip installs (PEP 668), the public image does not care.
#
# BUILD_CA_BUNDLE: a CA bundle for pip to trust, for builds behind a TLS-inspecting proxy (the
# local stack mounts this machine's there); unset by default, and never part of the image.
#
# No ENTRYPOINT: KFP sets the container's command (python3 -u -m sagemaker_ack_kfp.component ...).
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
ARG BUILD_CA_BUNDLE=""

# ----- build: the project as a wheel (runtime dependencies only, no dev extras) --------------
FROM ${BASE_IMAGE} AS build
ARG BUILD_CA_BUNDLE
WORKDIR /src
COPY . .
RUN if [ -n "$BUILD_CA_BUNDLE" ]; then export PIP_CERT="$BUILD_CA_BUNDLE"; fi \
    && python3 -m venv /opt/build \
    && /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .

# ----- runtime --------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG BUILD_CA_BUNDLE
LABEL org.opencontainers.image.title="sagemaker-ack-kfp components" \
      org.opencontainers.image.description="SageMaker components for Kubeflow Pipelines, built on the ACK SageMaker controller" \
      org.opencontainers.image.ref.name="ghcr.io/sagemaker-ack-kfp/components:${VERSION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
# The wheel is mounted, not copied: it leaves no layer behind. Dependencies come from PyPI.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    if [ -n "$BUILD_CA_BUNDLE" ]; then export PIP_CERT="$BUILD_CA_BUNDLE"; fi \
    && python3 -m venv /opt/venv \
    && pip install /wheels/*.whl \
    && sagemaker-ack-kfp --help >/dev/null \
    && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin components
# Numeric, so that runAsNonRoot can verify it.
USER 1000:1000
WORKDIR /home/components
CMD ["sagemaker-ack-kfp", "--help"]
