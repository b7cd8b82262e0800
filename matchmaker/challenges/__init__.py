"""Challenges domain."""
