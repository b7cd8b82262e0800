"""Strategy domain."""
