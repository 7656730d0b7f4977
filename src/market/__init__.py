"""market: the order & payment platform of a marketplace."""
