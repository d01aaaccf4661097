"""The ledger's part in membership merges, cancellations, the accounts endpoint and the member page."""

from memberships import hooks


def register() -> None:
    from ledger.back_office import (
        balance_column,
        balance_column_names,
        balance_column_values,
        forfeit_preview,
        points_panel,
        program_change_notes,
        statement_panel,
    )
    from ledger.member_actions import register as register_member_actions
    from ledger.models import PointType
    from ledger.rollups import DAILY_BLOCKED, DAILY_POINTS, POINTS_AHEAD
    from ledger.selectors import account_summaries
    from ledger.services import forfeit_membership_points, merge_membership_points
    from loyalty.hooks import register_program_change_notes
    from loyalty.rollups import register_rollup, register_snapshot
    from loyalty.services import register_configuration_model

    register_configuration_model(PointType)
    register_rollup(DAILY_POINTS)
    register_rollup(DAILY_BLOCKED)
    register_snapshot(POINTS_AHEAD)
    register_member_actions()
    hooks.register_export_columns(hooks.ExportColumns(names=balance_column_names, values=balance_column_values))
    hooks.register_merge_hook(merge_membership_points)
    hooks.register_cancel_hook(forfeit_membership_points)
    hooks.register_cancel_preview(forfeit_preview)
    register_program_change_notes(program_change_notes)
    hooks.register_accounts_provider(account_summaries)
    hooks.register_member_columns(
        hooks.MemberColumns(key="points", order=10, titles=(("points", "Points"),), values=balance_column)
    )
    hooks.register_member_panel(
        hooks.MemberPanel(
            key="points",
            title="Points",
            order=10,
            template="admin/ledger/member_points.html",
            context=points_panel,
            placement="header",
        )
    )
    hooks.register_member_panel(
        hooks.MemberPanel(
            key="statement",
            title="Statement",
            order=25,
            template="admin/ledger/member_statement.html",
            context=statement_panel,
        )
    )
