"""The REST adapter kit every service's router uses: problem+json, auth, JSON, paging, metrics."""
