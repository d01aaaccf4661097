"""The vouchers app's part in other apps: configuration saving, membership merges, and the voucher
types that promotions issue."""

from memberships import hooks
from promotions.hooks import register_voucher_types


def register() -> None:
    from loyalty.services import register_configuration_model
    from vouchers.back_office import vouchers_panel
    from vouchers.member_actions import register as register_member_actions
    from vouchers.models import VoucherType
    from vouchers.services import move_vouchers_on_merge

    register_configuration_model(VoucherType)
    hooks.register_merge_hook(move_vouchers_on_merge)
    register_voucher_types(lambda: dict(VoucherType.objects.values_list("key", "name")))
    register_member_actions()
    hooks.register_member_panel(
        hooks.MemberPanel(
            key="vouchers",
            title="Vouchers",
            order=40,
            template="admin/vouchers/member_vouchers.html",
            context=vouchers_panel,
        )
    )
