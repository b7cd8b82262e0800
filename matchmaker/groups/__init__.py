"""Groups domain."""
