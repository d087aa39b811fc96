"""Auth API models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from opsplane.server.auth.roles import Role

Username = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserRead


class UserCreate(BaseModel):
    username: str = Username
    password: str = Field(min_length=1, max_length=1024)
    role: Role = Role.viewer


class UserUpdate(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    disabled: bool | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    user_id: int | None = Field(default=None, description="Owner; default: the caller.")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="The secret: shown once, store it now.")
