# The llmops operator image: `llmops run` on a slim Python, non-root, dependencies installed from a hash-pinned lock.
# Build from the repository root:  docker build -t ghcr.io/llmops-dev/operator:0.1.0 .
#
# python:3.11.14-slim-bookworm, pinned by the digest of its multi-platform index (amd64 and arm64).
# Refresh both together: docker buildx imagetools inspect python:3.11.14-slim-bookworm
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/llmops
WORKDIR /src
# Dependencies first (a layer that changes only with the lock): exact versions, every file hash-checked.
COPY requirements-operator.txt ./
RUN /opt/llmops/bin/pip install --require-hashes --no-deps -r requirements-operator.txt
# Then llmops itself, built with the locked setuptools (no build isolation: nothing unpinned is fetched).
COPY pyproject.toml ./
COPY operator ./operator
COPY builders ./builders
RUN /opt/llmops/bin/pip install --no-deps --no-build-isolation . \
 && /opt/llmops/bin/pip check \
 && /opt/llmops/bin/pip uninstall --yes setuptools pip

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="llmops operator" \
      org.opencontainers.image.description="Turns an LLMDeployment into conversion Jobs and a served LLM." \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/llmops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/llmops /opt/llmops
# The chart runs it as 65532 too, with a read-only root filesystem.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["llmops", "run"]
