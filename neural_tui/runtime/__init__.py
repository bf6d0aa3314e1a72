"""The asyncio pipeline: sources in, bounded per-model state, immutable snapshots out."""
