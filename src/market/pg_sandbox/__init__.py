"""The PG/BNPL sandbox: a separate system that plays the PG (Toss Payments v1 wire API) for the embedded
mode, the tests and `market up`. No service imports it; the composition roots choose it."""
