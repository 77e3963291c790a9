"""Helpers shared by the test suite (not shipped with the library)."""
