"""The comb network: shared encoder, shared decoder trunk, per-identity heads; losses; export."""
