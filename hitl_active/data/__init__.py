"""Image pools, safe decoding and synthetic datasets."""
