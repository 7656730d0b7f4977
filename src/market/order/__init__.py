"""Order: orders and their lines, the status machine and timeline, API idempotency keys."""
