"""Rendering: pure functions from a plan and a spec to the Kubernetes objects llmops applies (plain dicts)."""
