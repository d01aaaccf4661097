"""Idempotency-Key on any POST: the first answer is stored in the transaction of the work."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from loyalty.actors import Actor
from loyalty.api.errors import domain_error_response
from loyalty.errors import DomainError, IdempotencyKeyReused
from loyalty.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def _canonical(data: Any) -> Any:
    if hasattr(data, "lists"):  # QueryDict of a form or multipart body
        return {key: sorted(map(_canonical, values), key=str) for key, values in sorted(data.lists())}
    if hasattr(data, "chunks"):  # an uploaded file: its content counts, not its temp name
        digest = hashlib.sha256()
        for chunk in data.chunks():
            digest.update(chunk)
        data.seek(0)
        return {"file": data.name, "sha256": digest.hexdigest()}
    if isinstance(data, dict):
        return {str(k): _canonical(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_canonical(v) for v in data]
    return data


def request_fingerprint(request) -> str:
    body = json.dumps(_canonical(request.data), sort_keys=True, cls=JSONEncoder)
    raw = f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(principal: str, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the key; a concurrent holder makes this wait until it commits, then we read its row."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(principal=principal, key=key, request_hash=fingerprint), True
    except IntegrityError:
        return IdempotencyRecord.objects.get(principal=principal, key=key), False


def _storable(response: Response) -> bool:
    """Successes are stored; any other answer a view returns (not raises) rolls back and is not."""
    return 200 <= response.status_code < 300


def run_idempotent(handler: Callable[..., Response], request, *args, **kwargs) -> Response:
    key = request.headers.get(HEADER, "")
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise exceptions.ValidationError({HEADER: ["Give 1 to 255 printable characters."]})
    principal = Actor.from_request(request).principal
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        record, created = _claim(principal, key, fingerprint)
        if not created:
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused()
            return Response(
                record.response_body,
                status=record.status_code,
                headers={REPLAY_HEADER: "true"},
            )
        try:
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
        except DomainError as exc:
            # A business refusal is an answer too: the same request must get it again.
            response = domain_error_response(exc)
            stored = True
        else:
            stored = _storable(response)
        if not stored:
            transaction.set_rollback(True)
            return response
        record.status_code = response.status_code
        record.response_body = json.loads(json.dumps(getattr(response, "data", None), cls=JSONEncoder))
        record.save(update_fields=["status_code", "response_body"])
        return response
