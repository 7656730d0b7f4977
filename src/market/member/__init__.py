"""The member service: accounts, login (JWT issuing), point balances and their ledger."""
