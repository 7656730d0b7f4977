"""`market chaos`: a seeded fault campaign against the distributed topology (docs/runbook.md)."""
