"""Adapters of the member service: SQL and in-memory persistence, argon2, JWT, REST."""
