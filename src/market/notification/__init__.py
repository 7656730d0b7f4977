"""The notification worker: an e-mail to the member when its order is paid, fails or is cancelled (SPEC §10.4)."""
