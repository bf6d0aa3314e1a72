"""The Textual console: it renders snapshots and sends commands, and computes nothing."""
