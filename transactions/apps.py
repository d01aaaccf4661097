from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "transactions"
    verbose_name = "Transactions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from loyalty.hooks import register_program_change_notes
        from loyalty.rollups import register_rollup, register_snapshot
        from memberships.hooks import MemberColumns, MemberPanel, register_member_columns, register_member_panel
        from promotions.hooks import (
            register_history_count,
            register_history_source,
            register_members_reached,
            register_points_given,
            register_rewards_per_day,
        )
        from transactions.back_office import program_change_notes, purchase_columns, transactions_panel
        from transactions.rollups import DAILY_REWARDS, DAILY_SALES
        from transactions.selectors import (
            BUYERS,
            MEMBERS_REACHED,
            booked_between,
            booked_count,
            members_reached,
            points_by_promotion,
            promotion_rewards_per_day,
        )

        register_history_source(booked_between)  # the promotions' backtest replays these
        register_history_count(booked_count)
        register_members_reached(members_reached)
        register_points_given(lambda first, last: points_by_promotion(first, last))  # the promotion list
        register_rewards_per_day(promotion_rewards_per_day)  # a promotion's results
        register_rollup(DAILY_SALES)
        register_rollup(DAILY_REWARDS)
        register_snapshot(BUYERS)
        register_snapshot(MEMBERS_REACHED)
        register_program_change_notes(program_change_notes)
        register_member_columns(
            MemberColumns(
                key="purchases",
                order=30,
                titles=(("purchases", "Purchases"), ("spent", "Spent"), ("last_purchase", "Last purchase")),
                values=purchase_columns,
            )
        )
        register_member_panel(
            MemberPanel(
                key="transactions",
                title="Transactions",
                order=30,
                template="admin/transactions/member_transactions.html",
                context=transactions_panel,
            )
        )
