"""The read side (SPEC §10.2): a read model of orders and sales, fed by the order and payment events."""
