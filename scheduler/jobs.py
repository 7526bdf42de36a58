"""Every scheduled job and sweep, imported so they register with the runner."""

from scheduler import appointments, broadcasts, due, prompts

__all__ = ["appointments", "broadcasts", "due", "prompts"]
