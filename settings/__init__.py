"""The Django project package; importing it makes the Celery app available to workers."""

from settings.celery import app as celery_app

__all__ = ["celery_app"]
