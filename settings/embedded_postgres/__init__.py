"""Django's PostgreSQL backend for the embedded server: it starts it (or finds it running) on
the first connection, not when the settings are imported (settings/embedded.py)."""
