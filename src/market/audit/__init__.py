"""`market audit`: checks the invariants of SPEC §8 against a deployment's data."""
