"""Async producers of columnar record batches."""
