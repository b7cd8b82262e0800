"""Organisations domain."""
