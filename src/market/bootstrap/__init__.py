"""Composition roots: the only place where ports meet their adapters, one per run mode."""
