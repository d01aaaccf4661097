"""Voucher types: created and changed through save_configuration, so every change is audited."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from ledger.services.core import default_sponsor
from loyalty.actors import Actor
from loyalty.errors import InvalidInput
from loyalty.models import Sponsor
from loyalty.services import save_configuration
from vouchers.errors import (
    InvalidVoucherType,
    VoucherTypeExists,
)
from vouchers.models import VoucherType


def _save_type(voucher_type: VoucherType, actor: Actor) -> VoucherType:
    try:
        with transaction.atomic():
            return save_configuration(voucher_type, actor=actor)
    except InvalidInput as exc:
        if (
            any(e.get("field") == "key" for e in exc.errors)
            and VoucherType.objects.filter(key=voucher_type.key).exclude(pk=voucher_type.pk).exists()
        ):
            raise VoucherTypeExists(f"A voucher type with the key {voucher_type.key!r} exists.") from exc
        raise InvalidVoucherType(exc.detail, errors=exc.errors) from exc
    except IntegrityError as exc:  # the same key created concurrently
        raise VoucherTypeExists(f"A voucher type with the key {voucher_type.key!r} exists.") from exc


@transaction.atomic
def create_voucher_type(*, key: str, name: str, actor: Actor, sponsor: Sponsor | None = None, **fields: Any):
    """A new voucher type (validated by VoucherType.clean). `sponsor` defaults to the program's default."""
    if VoucherType.objects.filter(key=key).exists():
        raise VoucherTypeExists(f"A voucher type with the key {key!r} exists.")
    voucher_type = VoucherType(key=key, name=name, sponsor=sponsor or default_sponsor(), **fields)
    return _save_type(voucher_type, actor)


@transaction.atomic
def update_voucher_type(*, voucher_type: VoucherType, actor: Actor, **changes: Any) -> VoucherType:
    """Change a type. Vouchers already issued keep what they were issued with (uses, validity, price)."""
    for name, value in changes.items():
        setattr(voucher_type, name, value)
    return _save_type(voucher_type, actor)
