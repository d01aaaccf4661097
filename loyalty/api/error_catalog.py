"""What each error code says, for the examples of the schema's error answers.

The words come from the code itself: a domain error class's default detail, or the message a service raises
with `code="..."` (read from the source once; an f-string's values show as `…`).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import cache
from pathlib import Path

from django.apps import apps

from loyalty.errors import DomainError

# Codes the API conventions answer, the same for every operation (docs/api.md).
CONVENTIONS = {
    "validation_error": "One or more fields are invalid; `errors` names each.",
    "malformed_request": "JSON parse error - Expecting value: line 1 column 1 (char 0)",
    "not_authenticated": "Authentication credentials were not provided.",
    "authentication_failed": "Unknown API key.",
    "insufficient_scope": "This API key lacks the scope this operation needs.",
    "idempotency_key_reused": "This Idempotency-Key was already used with a different request.",
    "payload_too_large": "The request body is 2097152 bytes; the limit is 1048576 bytes.",
    "unsupported_media_type": 'Unsupported media type "multipart/form-data" in request.',
    "not_found": "Not found.",
    "permission_denied": "You do not have permission to perform this action.",
    "busy": "The server is busy: what this request needs is in use; nothing was changed, retry shortly.",
    "rate_limited": "Too many requests: the limit is 100/s burst 200; retry after 1 s.",
}


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _message(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    return None


def _raised_messages(path: Path) -> dict[str, str]:
    """code -> message of every call with a literal `code=` keyword and a message first argument."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args:
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    message = _message(node.args[0])
                    if message:
                        found.setdefault(keyword.value.value, message)
    return found


@cache
def details() -> dict[str, str]:
    """code -> what the answer's `detail` says."""
    found: dict[str, str] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("django") and importlib.util.find_spec(f"{config.name}.errors"):
            importlib.import_module(f"{config.name}.errors")
        root = Path(config.path)
        if root.is_relative_to(Path(__file__).resolve().parents[2]):
            for path in sorted(root.rglob("*.py")):
                if "migrations" not in path.parts and "tests" not in path.parts:
                    for code, message in _raised_messages(path).items():
                        found.setdefault(code, message)
    for cls in _subclasses(DomainError):
        if "code" in cls.__dict__:
            own = cls.__dict__.get("default_detail")
            found[cls.code] = own or found.get(cls.code) or cls.default_detail
    found.update(CONVENTIONS)
    return found


def example(status: int, code: str, invalid: tuple[str, str, str] | None = None) -> dict:
    """The answer of one error code; `invalid` is the (field, code, message) a validation error shows."""
    detail = details().get(code) or f"Refused: {code.replace('_', ' ')}."
    errors = []
    if code == "validation_error":
        field, field_code, message = invalid or ("colour", "unknown_parameter", "Unknown query parameter.")
        errors = [{"field": field, "code": field_code, "message": message}]
        detail = f"{field}: {message}"
    return {"status": status, "code": code, "detail": detail, "errors": errors}
