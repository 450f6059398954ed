"""Sample data for tests, benches and the demo: public-domain portraits and synthetic plates.

Pure numpy (no file writes): ``portraits`` loads the bundled photos, ``plates`` moves them
through a larger plate with known per-frame similarity motion.
"""
