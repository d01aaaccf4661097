"""Cap usage of promotions: what the capped promotions (`budget`, `perMember` per day, month or
lifetime) have given so far, read before the engine runs and counted when a booking or a return
commits. Every flow that earns through promotions reads and counts it here, so the caps hold
across all of them.

Lock order: budget rows first, then member usage rows, each kind in ascending id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet, Value

from loyalty.memo import memo_dict
from loyalty.models import Program
from loyalty.prepared import Prepared
from promotions.engine import CapUsage, CompiledPromotion
from promotions.models import Promotion, PromotionBudget, PromotionMemberUsage


def promotion_ids_by_key(promotions: list[CompiledPromotion]) -> dict[str, int]:
    """Promotion row ids by key: compiled promotions carry them; others (none in practice) are read."""
    ids = {p.key: p.promotion_id for p in promotions if p.promotion_id}
    missing = {p.key for p in promotions} - ids.keys()
    if missing:
        known = memo_dict("promotion_ids")
        if missing - known.keys():
            known.update(Promotion.objects.filter(key__in=missing - known.keys()).values_list("key", "pk"))
        ids.update({key: known[key] for key in missing if key in known})
    return ids


def periods_at(occurred_at: datetime) -> dict[str, str]:
    local = occurred_at.astimezone(ZoneInfo(Program.current().time_zone))
    return {"day": local.strftime("%Y-%m-%d"), "month": local.strftime("%Y-%m"), "lifetime": "all"}


def caps_of(promo: CompiledPromotion) -> dict[str, Any]:
    return promo.definition.get("caps") or {}


def read_cap_usage(
    promotions: list[CompiledPromotion],
    membership: Any,
    occurred_at: datetime,
    *,
    lock_keys: set[str],
    known: CapUsage | None = None,
) -> CapUsage:
    """Usage of the capped promotions; the rows of `lock_keys` are created if missing and locked
    (budget rows first, each kind in ascending id), and their usage is read under the lock. The
    others come from `known` when given (an earlier read: they gave no reward, so no lock)."""
    periods = periods_at(occurred_at)
    capped = [p for p in promotions if {"budget", "perMember"} & caps_of(p).keys()]
    budget_keys = {p.key for p in capped if "budget" in caps_of(p)}
    member_keys = {p.key for p in capped if caps_of(p).get("perMember")}
    if not budget_keys and not member_keys:
        return CapUsage()
    ids = promotion_ids_by_key(capped)
    by_id = {pk: key for key, pk in ids.items()}
    budget: dict[str, int] = {}
    member: dict[tuple[str, str], int] = {}
    locked_budget = sorted(ids[k] for k in lock_keys & budget_keys)
    locked_member = sorted(ids[k] for k in lock_keys & member_keys) if membership is not None else []
    if locked_budget:
        PromotionBudget.objects.bulk_create(
            [PromotionBudget(promotion_id=pk) for pk in locked_budget], ignore_conflicts=True
        )
        budget.update((by_id[pid], used) for pid, used in _locked_budgets.all(locked_budget))
    if locked_member:
        wanted = [
            PromotionMemberUsage(
                promotion_id=pid, membership=membership, period=cap["period"], period_key=periods[cap["period"]]
            )
            for pid in locked_member
            for cap in caps_of(next(p for p in capped if p.key == by_id[pid]))["perMember"]
        ]
        PromotionMemberUsage.objects.bulk_create(wanted, ignore_conflicts=True)
        for pid, period, period_key, used in _locked_member_usage.all(locked_member, membership.pk):
            if periods.get(period) == period_key:
                member[(by_id[pid], period)] = used
    if known is not None:
        budget.update((k, v) for k, v in known.budget.items() if k not in lock_keys)
        member.update((k, v) for k, v in known.member.items() if k[0] not in lock_keys)
        return CapUsage(budget=budget, member=member)
    unlocked_budget = sorted(ids[k] for k in budget_keys - lock_keys)
    unlocked_member = sorted(ids[k] for k in member_keys - lock_keys) if membership is not None else []
    if unlocked_budget and unlocked_member:
        rows = _usage.all(unlocked_budget, unlocked_member, membership.pk, sorted(set(periods.values())))
    elif unlocked_budget:
        rows = _budget_usage.all(unlocked_budget)
    elif unlocked_member:
        rows = _member_usage.all(unlocked_member, membership.pk, sorted(set(periods.values())))
    else:
        rows = []
    for pid, period, period_key, used in rows:
        if not period:
            budget[by_id[pid]] = used
        elif periods.get(period) == period_key:
            member[(by_id[pid], period)] = used
    return CapUsage(budget=budget, member=member)


# Usage as (promotion id, period, period key, used); a budget row has no period. Both kinds in one
# query when both are wanted. Prepared: compiled once per process (loyalty.prepared).
def _budget_rows(promotion_ids: list[int]) -> QuerySet:
    return PromotionBudget.objects.filter(promotion_id__in=promotion_ids).values_list(
        "promotion_id", Value(""), Value(""), "used"
    )


def _member_rows(promotion_ids: list[int], membership_id: int, period_keys: list[str]) -> QuerySet:
    return PromotionMemberUsage.objects.filter(
        promotion_id__in=promotion_ids, membership_id=membership_id, period_key__in=period_keys
    ).values_list("promotion_id", "period", "period_key", "used")


_budget_usage: Prepared[tuple] = Prepared(_budget_rows)
_member_usage: Prepared[tuple] = Prepared(_member_rows)
_usage: Prepared[tuple] = Prepared(
    lambda budget_ids, member_ids, membership_id, period_keys: _budget_rows(budget_ids).union(
        _member_rows(member_ids, membership_id, period_keys), all=True
    )
)
_locked_budgets: Prepared[tuple] = Prepared(
    lambda promotion_ids: (
        PromotionBudget.objects.select_for_update()
        .filter(promotion_id__in=promotion_ids)
        .order_by("pk")
        .values_list("promotion_id", "used")
    )
)
_locked_member_usage: Prepared[tuple] = Prepared(
    lambda promotion_ids, membership_id: (
        PromotionMemberUsage.objects.select_for_update()
        .filter(promotion_id__in=promotion_ids, membership_id=membership_id)
        .order_by("pk")
        .values_list("promotion_id", "period", "period_key", "used")
    )
)


def _count_usage(model, row: dict[str, Any], amount: int) -> None:
    """Add to a usage row; it exists whenever read_cap_usage locked it, so the insert is a fallback."""
    if not _add_usage(model, row, amount):
        model.objects.bulk_create([model(**row)], ignore_conflicts=True)
        _add_usage(model, row, amount)


def _add_usage(model, row: dict[str, Any], amount: int) -> int:
    """UPDATE ... SET used = used + amount for one row: the statement the queryset's update() makes,
    written out because it runs for every capped reward."""
    quote = connection.ops.quote_name
    where = " AND ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in row)
    sql = f"UPDATE {quote(model._meta.db_table)} SET used = used + %s WHERE {where}"  # noqa: S608 (names only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [amount, *(getattr(v, "pk", v) for v in row.values())])
        return cursor.rowcount


def record_usage(rewards: list, membership: Any, occurred_at: datetime, sign: int = 1) -> None:
    """Count what the rewards took. Their usage rows exist: read_cap_usage made and locked them."""
    periods = periods_at(occurred_at)
    for reward in rewards:
        amount = sign * reward["amount"]
        if not amount:
            continue
        caps = reward["caps"]
        promotion_id = reward["promotion_id"]
        if "budget" in caps:
            _count_usage(PromotionBudget, {"promotion_id": promotion_id}, amount)
        for cap in caps.get("perMember") or []:
            row = {
                "promotion_id": promotion_id,
                "membership": membership,
                "period": cap["period"],
                "period_key": periods[cap["period"]],
            }
            _count_usage(PromotionMemberUsage, row, amount)
