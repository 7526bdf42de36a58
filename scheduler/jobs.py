"""Every scheduled job and sweep, imported so they register with the runner."""

from scheduler import appointments, broadcasts, due, prompts, queue_timers

__all__ = ["appointments", "broadcasts", "due", "prompts", "queue_timers"]
