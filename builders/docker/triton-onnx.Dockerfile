# Triton serving image for the ONNX artifact: the generated repository's Python-backend model runs
# ONNX Runtime with a KV cache and a greedy loop, so the Python backend needs these three packages.
# The operator passes --model-repository=/models/artifacts/<hex>/triton.
# Runs as uid 1000, the image's own triton-server user.
# The base is a build argument, so the same file builds where no registry is reachable
# (e2e/images/build-images.sh passes a CPU stand-in with pytriton's tritonserver, same layout).
ARG BASE_IMAGE=nvcr.io/nvidia/tritonserver:25.12-py3

FROM ${BASE_IMAGE}
ENV PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1
RUN pip install --no-cache-dir numpy==1.26.4 onnxruntime==1.22.1 tokenizers==0.22.2
USER 1000:1000
EXPOSE 8000 8001 8002
ENTRYPOINT ["tritonserver"]
