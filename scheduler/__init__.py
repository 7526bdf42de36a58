"""Scheduled work: importing the package registers every sweep with the runner."""

from scheduler import jobs

__all__ = ["jobs"]
