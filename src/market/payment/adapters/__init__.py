"""The payment service's adapters: SQL and in-memory storage, REST, the PG/BNPL sandbox and its gateways, metrics."""
