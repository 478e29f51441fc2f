"""Small standard-library programs that run inside pods as `python3 -c <source>`, in the runtime's own image.

The renderer is pure (no file reads), so it takes their source from llmops.render.programs, which
`python -m llmops.programs` writes from these modules; a test keeps the two equal.
"""
