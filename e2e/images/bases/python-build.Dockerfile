# Stand-in for python:3.11.7-bookworm (the full, buildpack-deps based image) where the Dockerfiles
# only need a compiler: the llama.cpp compile stage (cmake comes from PyPI there). Built FROM the
# local python base (bases/python.Dockerfile) by e2e/images/build-images.sh.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc g++ make libc6-dev python3.11-dev \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && gcc --version
