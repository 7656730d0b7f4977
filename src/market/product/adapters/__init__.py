"""Adapters of the product service: SQL and in-memory persistence, REST."""
