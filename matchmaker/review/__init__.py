"""Review domain."""
