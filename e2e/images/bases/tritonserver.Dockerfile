# Stand-in for nvcr.io/nvidia/tritonserver:25.12-py3 on CPU: the tritonserver that PyPI's
# nvidia-pytriton wheel ships (the one builders/scripts/setup-lab.sh tests with), laid out as in the
# NGC image: /opt/tritonserver/{bin/tritonserver,lib,backends/python,caches} with tritonserver on
# PATH, the Python backend's stub for this image's python3.11 (which embeds libpython3.11), system
# pip usable, and the NGC image's user triton-server (uid/gid 1000). Built FROM the local python base
# (bases/python.Dockerfile) by e2e/images/build-images.sh.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PYTRITON_VERSION=0.7.0
ENV PATH=/opt/tritonserver/bin:${PATH} \
    LD_LIBRARY_PATH=/opt/tritonserver/lib \
    PIP_NO_CACHE_DIR=1
# The wheel's libraries (nvidia_pytriton.libs, vendored by auditwheel) go to lib/, which is also the
# first entry of the server's RPATH ($ORIGIN/../lib); a zip extraction drops the executable bits.
RUN pip download --no-cache-dir --no-deps --only-binary=:all: "nvidia-pytriton==${PYTRITON_VERSION}" -d /tmp/pytriton \
 && python -m zipfile -e /tmp/pytriton/nvidia_pytriton-*.whl /tmp/pytriton/wheel \
 && mv /tmp/pytriton/wheel/pytriton/tritonserver /opt/tritonserver \
 && mv /tmp/pytriton/wheel/nvidia_pytriton.libs /opt/tritonserver/lib \
 && mv /opt/tritonserver/python_backend_stubs/3.11/triton_python_backend_stub /opt/tritonserver/backends/python/ \
 && rm -rf /opt/tritonserver/python_backend_stubs /tmp/pytriton \
 && chmod 0755 /opt/tritonserver/bin/tritonserver /opt/tritonserver/backends/python/triton_python_backend_stub \
 && groupadd --gid 1000 triton-server \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash triton-server \
 && ldd /opt/tritonserver/bin/tritonserver /opt/tritonserver/backends/python/libtriton_python.so \
      /opt/tritonserver/backends/python/triton_python_backend_stub >/tmp/ldd.txt \
 && if grep 'not found' /tmp/ldd.txt; then exit 1; fi \
 && rm /tmp/ldd.txt
WORKDIR /opt/tritonserver
EXPOSE 8000 8001 8002
ENTRYPOINT ["tritonserver"]
