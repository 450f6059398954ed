"""Faces: dlib detection and landmarks, tracking, stabilisation, alignment files (dlib lives here only)."""
