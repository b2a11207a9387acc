"""Checks the option dataclasses of every command share."""

from __future__ import annotations

__all__ = ["check_counts"]


def check_counts(owner: object, *limits: tuple[str, int]) -> None:
    """Raise ``ValueError`` unless each named attribute of ``owner`` is an int at or above its limit.

    Args:
        owner: the options object (a dataclass, in ``__post_init__``).
        limits: ``(attribute, lowest accepted value)`` pairs.
    """
    for name, low in limits:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
