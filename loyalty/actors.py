"""Who acts: a staff user, an API client, or the system (tasks, commands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from loyalty.models import ApiClient


@dataclass(frozen=True)
class Actor:
    user: AbstractBaseUser | None = None
    client: ApiClient | None = None
    system: str = ""
    request_id: str = ""
    remote_addr: str | None = None

    @property
    def kind(self) -> str:
        if self.client is not None:
            return "client"
        if self.user is not None:
            return "user"
        return "system"

    @property
    def label(self) -> str:
        if self.client is not None:
            return f"client:{self.client.name}"
        if self.user is not None:
            return f"user:{self.user.get_username()}"
        return f"system:{self.system or 'internal'}"

    @property
    def principal(self) -> str:
        """A stable identity for per-principal state (idempotency keys)."""
        if self.client is not None:
            return f"client:{self.client.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"system:{self.system}"

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        client = getattr(request, "api_client", None)
        user = getattr(request, "user", None)
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        if client is not None:
            user = None
        return cls(
            user=user,
            client=client,
            request_id=getattr(request, "request_id", ""),
            remote_addr=request.META.get("REMOTE_ADDR") or None,
        )

    @classmethod
    def for_system(cls, name: str) -> Actor:
        return cls(system=name)
