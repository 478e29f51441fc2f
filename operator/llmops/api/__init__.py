"""The LLMDeployment API (llmops.dev/v1alpha1): spec and status models, the single source of the schema."""
