"""Roles, ordered: each role can do everything the ones below it can."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}
