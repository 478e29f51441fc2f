"""The builders' lab: a tiny real model and local servers for tests and benchmarks (never used by Jobs)."""
