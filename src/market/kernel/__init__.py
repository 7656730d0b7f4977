"""The shared kernel: what every service speaks (clock, ids, errors, events, persistence ports)."""
