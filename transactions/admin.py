"""Booked purchase transactions, read-only: the list, and each one with its lines and rewards (with
the engine's trace). Transactions change only through POST /tx and returns."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html, format_html_join

from ledger.amounts import show_points, to_points
from ledger.models import PointType
from loyalty.admin import ReadOnlyAdmin
from loyalty.readable import readable
from memberships.admin.common import MemberKeySearchMixin
from promotions.explain import describe_cap, describe_step
from promotions.selectors import budgets_of
from transactions.models import Transaction, TransactionLine, TransactionReward


def _pretty(value) -> str:
    return readable(value)  # tables and lists in words, never raw JSON


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = TransactionLine
    fields = ["position", "product_key", "quantity", "unit_price", "amount", "returned_quantity", "known", "facts_"]
    readonly_fields = fields

    @admin.display(description="facts the engine saw")
    def facts_(self, obj: TransactionLine) -> str:
        return _pretty(obj.facts)


class RewardInline(ReadOnlyInline):
    model = TransactionReward
    fields = ["promotion_key", "version", "point_type", "points", "lines_", "capped_", "vouchers", "trace_"]
    readonly_fields = fields

    def get_queryset(self, request):
        precision = PointType.objects.filter(key=OuterRef("point_type")).values("precision")[:1]
        return super().get_queryset(request).select_related("promotion_version").annotate(precision=Subquery(precision))

    def _show(self, obj: TransactionReward, amount: int) -> str:
        return to_points(amount, obj.precision or 0)

    @admin.display(description="version")
    def version(self, obj: TransactionReward) -> str:
        return f"v{obj.promotion_version.number}"

    @admin.display(description="amount")
    def points(self, obj: TransactionReward) -> str:
        return self._show(obj, obj.amount)

    @admin.display(description="per line")
    def lines_(self, obj: TransactionReward) -> str:
        return ", ".join(
            f"line {k}: {self._show(obj, v)}" for k, v in sorted(obj.lines.items(), key=lambda i: int(i[0]))
        )

    @admin.display(description="cap")
    def capped_(self, obj: TransactionReward) -> str:
        return describe_cap(obj.capped, lambda amount: self._show(obj, amount)) or "-"

    @admin.display(description="trace")
    def trace_(self, obj: TransactionReward) -> str:
        steps = [describe_step(step) for step in obj.trace or []]
        sentences = format_html_join(
            "", "<li>{}: {}</li>", (("held" if s["held"] else "failed", s["text"]) for s in steps)
        )
        return format_html(
            "<ul>{}</ul><details><summary>as stored</summary>{}</details>",
            sentences or format_html("<li>{}</li>", "no condition"),
            _pretty(obj.trace),
        )


@admin.register(Transaction)
class TransactionAdmin(MemberKeySearchMixin, ReadOnlyAdmin):
    list_display = [
        "tx_id",
        "receipt_id",
        "membership_number",
        "sponsor",
        "channel",
        "occurred_at",
        "total",
        "status",
    ]
    list_filter = ["status", "channel", "sponsor", "occurred_at"]
    search_fields = ["=tx_id", "=receipt_id"]  # and a member by any key: get_search_results
    search_help_text = "Exact txId or receipt id, or a member's number, card, alternate id or e-mail address."
    list_select_related = ["membership", "sponsor"]
    show_full_result_count = False
    inlines = [LineInline, RewardInline]
    summary = [
        "tx_id",
        "receipt_id",
        "membership_number",
        "sponsor",
        "channel",
        "occurred_at",
        "total_amount",
        "currency",
        "payment_method",
        "status",
        "booking",
        "created_at",
    ]
    seen = ["properties_", "member_context_", "cap_usage_"]
    fieldsets = [
        (None, {"fields": summary}),
        ("What the engine saw", {"fields": seen}),
        ("The answer", {"fields": ["response_"], "classes": ["collapse"]}),
    ]
    readonly_fields = [*summary, *seen, "response_"]  # a stored transaction is never edited

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership", "sponsor", "booking")

    @admin.display(description="total", ordering="total_amount")
    def total(self, obj: Transaction) -> str:
        return f"{obj.total_amount:,.2f} {obj.currency}"

    @admin.display(description="membership", ordering="membership__number")
    def membership_number(self, obj: Transaction) -> str:
        return obj.membership.number

    @admin.display(description="properties")
    def properties_(self, obj: Transaction) -> str:
        return _pretty(obj.properties)

    @admin.display(description="member context")
    def member_context_(self, obj: Transaction) -> str:
        return _pretty(obj.member_context)

    @admin.display(description="cap usage")
    def cap_usage_(self, obj: Transaction) -> str:
        """What the capped promotions had given before this purchase, in points, by promotion name."""
        usage = obj.cap_usage or {}
        budget, member = usage.get("budget", {}), usage.get("member", [])
        promotions = budgets_of([*budget, *(key for key, _, _ in member)])

        def row(key: str, cap: str, used: int) -> dict[str, str]:
            promotion = promotions.get(key, {"name": key, "precision": 0})
            return {
                "promotion": promotion["name"],
                "cap": cap,
                "given before this purchase": show_points(used, promotion["precision"]),
            }

        periods = {"day": "per member, that day", "month": "per member, that month", "lifetime": "per member, in all"}
        rows = [row(key, "budget (all members)", used) for key, used in budget.items()]
        rows += [row(key, periods.get(period, period), used) for key, period, used in member]
        return readable(rows)

    @admin.display(description="answer")
    def response_(self, obj: Transaction) -> str:
        return _pretty(obj.response)
