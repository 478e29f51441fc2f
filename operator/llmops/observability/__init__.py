"""Observability as code: the metric catalog, the Grafana dashboards and the Prometheus alert rules.

`python -m llmops.observability` writes the generated files the Helm chart ships (see __main__).
Nothing here imports kopf or kubernetes: the package is pure data plus JSON/YAML.
"""
