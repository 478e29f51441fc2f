# The sandbox ("pause") image of the worker node's pods: a static pause binary and nothing else.
# Build context: a directory holding that binary as ./pause (e2e/images/build-images.sh --pause PATH).
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
