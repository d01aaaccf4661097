"""The vouchers app's part in other apps: configuration saving and membership merges."""

from memberships import hooks


def register() -> None:
    from loyalty.services import register_configuration_model
    from vouchers.models import VoucherType
    from vouchers.services import move_vouchers_on_merge

    register_configuration_model(VoucherType)
    hooks.register_merge_hook(move_vouchers_on_merge)
