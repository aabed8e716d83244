"""Fieldroute HTTP service (FastAPI). Grows with the service issue; nothing imports ``api``."""
