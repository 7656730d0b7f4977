"""Payment: payments and their legs, coupons, PG and BNPL, refunds, reconciliation."""
