"""Deterministic demo scenario (``greencircle demo load``)."""
