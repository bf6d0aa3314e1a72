"""Async producers of columnar record batches (`source.Source`), and nothing else."""
