"""Adapters of the notification worker: SQL and in-memory notices, Jinja2 templates, SMTP and .eml mailers,
the member service's answers (in-process and gRPC), metrics, and the builder the composition roots call."""
