# Stand-in for python:3.11-slim-bookworm, for building the project's images where no registry can be
# reached (e2e/images/build-images.sh passes BASE_IMAGE=<the local debootstrapped debian:bookworm>).
# Debian's own python3.11, made to behave like the official image where the Dockerfiles rely on it:
# `python` and `pip` on PATH, `pip install` as root works (no PEP 668 EXTERNALLY-MANAGED marker;
# packages land in /usr/local, as in the official image), `python -m venv` works (ensurepip).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ENV LANG=C.UTF-8
# Package versions are those of the bookworm point release the base was made from.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libpython3.11 python3.11 python3.11-venv python3-pip \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python3 \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip \
 && python --version && pip --version
CMD ["python3"]
