"""Frozen dataclasses shared by actors, the store and the HTTP layer."""
