"""The one exception a build step raises to fail with a reason the operator shows to users."""

from __future__ import annotations


class BuildError(Exception):
    """A step failed for a reason a user can act on; str(self) is the one-line reason."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")
