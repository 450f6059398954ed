"""The render: node library and the per-frame swap pipeline."""
