"""Command-line front end: ``faceswap-vfx <subcommand>``."""
