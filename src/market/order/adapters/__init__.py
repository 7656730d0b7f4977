"""The order service's adapters: SQL and in-memory persistence, REST, the asyncio status watch."""
