"""Tests of llmops_builders: real conversions and real serving on a tiny model made in the test."""
