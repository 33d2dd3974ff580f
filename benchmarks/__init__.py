"""Quality and speed measurements of the matching engine (not imported by the service)."""
