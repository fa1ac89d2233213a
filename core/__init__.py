"""Plumbing every app shares and none owns (no models, no Django app): the error family."""
