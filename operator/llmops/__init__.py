"""llmops: the LLMDeployment operator."""
