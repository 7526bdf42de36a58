"""Every scheduled job and sweep, imported so they register with the runner."""

from scheduler import appointments, broadcasts, checkups, due, prompts, queue_timers

__all__ = ["appointments", "broadcasts", "checkups", "due", "prompts", "queue_timers"]
