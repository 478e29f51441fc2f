"""llmops_builders: the programs conversion Jobs run."""
