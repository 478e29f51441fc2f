"""Planning: from a spec and cluster facts to a runtime, a served format, a conversion path and an artifact key."""
