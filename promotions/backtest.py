"""What a promotion's current definition would give: on a sample transaction (try it) and over the
stored transactions of the last days (backtest). Both only read; the engine does the arithmetic.

The promotion is evaluated together with the base promotions active now (so a multiplier has a base
earning to multiply), and without the other promotions (so the answer is about this one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from ledger.amounts import to_points
from ledger.models import PointType
from loyalty.models import Program
from promotions.context import Item, anonymous_context, build_lines, member_context
from promotions.engine import CapUsage, CompiledPromotion, Evaluation, compile_promotion, evaluate
from promotions.hooks import past_transactions
from promotions.models import Promotion
from promotions.rules import Member, Tx
from promotions.selectors import active_promotions

MAX_DAYS = 365
PROGRESS_EVERY = 2_000  # purchases between two progress reports of a backtest run
INLINE_LIMIT = 20_000  # more purchases than this: the backtest runs on a worker, the page shows its progress


def _precisions() -> dict[str, int]:
    return dict(PointType.objects.values_list("key", "precision"))


def compiled_with_bases(promotion: Promotion, precisions: dict[str, int] | None = None) -> list[CompiledPromotion]:
    """The promotion's current version, compiled, and the active base promotions (other than it)."""
    if promotion.current_version is None:
        return []
    precisions = _precisions() if precisions is None else precisions
    version = promotion.current_version
    own = compile_promotion(
        key=promotion.key,
        version=version.number,
        version_id=version.pk,
        name=promotion.name,
        definition=version.definition,
        precision=precisions.get(version.definition["pointType"], 0),
    )
    return [own, *(p for p in active_promotions() if p.base and p.key != promotion.key)]


def compiled_with_live(promotion: Promotion, precisions: dict[str, int] | None = None) -> list[CompiledPromotion]:
    """What POST /tx would evaluate if this promotion's current version were live: every active promotion,
    with this one's current version (active or not) in place of its live one."""
    own = compiled_with_bases(promotion, precisions)[:1]
    return [*own, *(p for p in active_promotions() if p.key != promotion.key)]


# Try it ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    channel: str
    occurred_at: datetime
    items: list[Item]
    membership_key: str = ""
    payment_method: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    member: dict[str, Any] | None = None  # a described member's facts, when no membership is named


@dataclass
class TryResult:
    evaluation: Evaluation
    membership_number: str
    unknown_products: list[int]
    precisions: dict[str, int]

    def show(self, amount: int, point_type: str) -> str:
        return to_points(amount, self.precisions.get(point_type, 0))


def try_sample(promotion: Promotion, sample: Sample) -> TryResult:
    """The engine's answer for the sample, with every live promotion beside this one's current version, as
    POST /tx would give it (the member's cap usage read, not locked). Raises the domain errors of an unknown
    channel or membership (memberships.errors.MembershipNotFound). Writes nothing."""
    from ledger.services.core import sponsor_by_key
    from memberships.selectors import resolve_membership
    from promotions.caps import read_cap_usage
    from promotions.catalog_selectors import channel_by_key, product_facts

    program = Program.current()
    channel = channel_by_key(sample.channel)
    sponsor = channel.sponsor if channel.sponsor_id else sponsor_by_key(None)
    membership = resolve_membership(sample.membership_key) if sample.membership_key else None
    if membership is not None:
        member = member_context(membership, sample.occurred_at)
    else:
        member = Member(**sample.member) if sample.member else anonymous_context()
    facts = product_facts(channel.key, [item.product_key for item in sample.items])
    lines, unknown = build_lines(sample.items, facts, unknown=program.unknown_products)
    tx = Tx(
        occurred_at=sample.occurred_at,
        total_amount=sum((item.amount for item in sample.items), Decimal(0)),
        currency=program.currency,
        channel=channel.key,
        sponsor=sponsor.key,
        lines=tuple(lines),
        payment_method=sample.payment_method,
        properties=sample.properties,
    )
    precisions = _precisions()
    promotions = compiled_with_live(promotion, precisions)
    usage = read_cap_usage(promotions, membership, sample.occurred_at, lock_keys=set())
    result = evaluate(tx, member, promotions, usage, rounding=program.rounding, time_zone=program.time_zone)
    return TryResult(result, membership.number if membership else "", unknown, precisions)


# Backtest --------------------------------------------------------------------------------------


@dataclass
class MemberTotal:
    number: str
    points: str
    transactions: int


@dataclass
class BacktestResult:
    promotion: str
    days: int
    since: datetime
    until: datetime | None = None  # the window actually run: the days asked, clipped to the promotion's dates
    clipped: list[str] = field(default_factory=list)  # why the window or the purchases in it were narrowed
    scanned: int = 0
    earned: int = 0
    capped: int = 0
    vouchers: int = 0
    points: str = "0"
    point_type: str = ""
    top_members: list[MemberTotal] = field(default_factory=list)
    # Against the promotions live now: purchases whose points change, and by how much in all and per day.
    affected: int = 0
    extra: str = "0"
    extra_minor: int = 0
    extra_per_day: dict[date, int] = field(default_factory=dict)


def backtest_window(
    definition: dict[str, Any], since: datetime, until: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime, list[str]]:
    """The part of [since, until] the promotion can apply in, and in words why it is narrower: its own dates
    cut the window; its weekdays and hours leave out purchases inside it."""
    validity = definition.get("validity") or {}
    reasons = []
    start = datetime.fromisoformat(validity["from"]) if validity.get("from") else None
    end = datetime.fromisoformat(validity["until"]) if validity.get("until") else None

    def moment(value: datetime) -> str:
        return value.astimezone(zone).strftime("%-d %b %Y %H:%M")

    if start is not None and start > since:
        reasons.append(f"the promotion starts {moment(start)}, so the window begins there")
        since = start
    if end is not None and end < until:
        reasons.append(f"the promotion ends {moment(end)}, so the window stops there")
        until = end
    weekdays = validity.get("weekdays")
    if weekdays:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        reasons.append("it applies on " + ", ".join(names[d - 1] for d in sorted(weekdays)) + " only")
    hours = validity.get("hours")
    if hours:
        reasons.append(f"it applies from {hours.get('from')} to {hours.get('to')} only")
    return since, until, reasons


class _Usage:
    """Cap usage as a backtest run goes: what each promotion would have given so far in it (from zero)."""

    def __init__(self, time_zone: str):
        self.zone = ZoneInfo(time_zone)
        self.budget: dict[str, int] = defaultdict(int)
        self.member: dict[tuple[str, int, str, str], int] = defaultdict(int)

    def periods(self, at: datetime) -> tuple[tuple[str, str], ...]:
        local = at.astimezone(self.zone)
        return (("day", local.strftime("%Y-%m-%d")), ("month", local.strftime("%Y-%m")), ("lifetime", "all"))

    def before(self, membership_id: int, periods: tuple, capped: list[CompiledPromotion]) -> CapUsage:
        """What the capped promotions gave so far (the others need no usage)."""
        return CapUsage(
            budget={p.key: self.budget[p.key] for p in capped},
            member={
                (p.key, period): self.member[(p.key, membership_id, period, key)]
                for p in capped
                for period, key in periods
            },
        )

    def add(self, membership_id: int, periods: tuple, rewards: list) -> None:
        for reward in rewards:
            if reward.amount:
                self.budget[reward.promotion] += reward.amount
                for period, key in periods:
                    self.member[(reward.promotion, membership_id, period, key)] += reward.amount


def backtest(
    promotion: Promotion,
    *,
    days: int = 30,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Run the promotion's current definition over the transactions booked in the last `days` days (clipped to
    the promotion's own dates), oldest first, as booked (before returns), twice: with the promotions live now
    and with this version in place of its live one, so the result says what this version changes (purchases
    affected, points in all, per day) besides what it gives itself. Caps count what each run would have given.
    The transactions come from the history source the transactions app registers (promotions.hooks), which
    reads them in chunks."""
    days = max(1, min(int(days), MAX_DAYS))
    now = now or timezone.now()
    program = Program.current()
    zone = ZoneInfo(program.time_zone)
    precisions = _precisions()
    result = BacktestResult(promotion=promotion.key, days=days, since=now - timedelta(days=days), until=now)
    if promotion.current_version is None:
        return result
    draft = compiled_with_live(promotion, precisions)
    live = active_promotions()
    own = draft[0]
    result.since, result.until, result.clipped = backtest_window(promotion.definition, result.since, now, zone)
    result.point_type = own.point_type
    if result.since >= result.until:
        return result
    usage, live_usage = _Usage(program.time_zone), _Usage(program.time_zone)
    total = 0
    by_member: dict[int, list] = {}  # membership id -> [number, points, transactions]
    extra_per_day: dict[date, int] = defaultdict(int)
    capped_draft = [p for p in draft if p.cap_limits]
    capped_live = [p for p in live if p.cap_limits]
    for past in past_transactions(result.since, result.until, unknown_products=program.unknown_products):
        result.scanned += 1
        if progress is not None and result.scanned % PROGRESS_EVERY == 0:
            progress(result.scanned)
        at = past.tx.occurred_at
        periods = usage.periods(at)
        with_draft = evaluate(
            past.tx,
            past.member,
            draft,
            usage.before(past.membership_id, periods, capped_draft),
            rounding=program.rounding,
            time_zone=program.time_zone,
        )
        as_live = evaluate(
            past.tx,
            past.member,
            live,
            live_usage.before(past.membership_id, periods, capped_live),
            rounding=program.rounding,
            time_zone=program.time_zone,
        )
        usage.add(past.membership_id, periods, with_draft.rewards)
        live_usage.add(past.membership_id, periods, as_live.rewards)
        change = with_draft.points().get(own.point_type, 0) - as_live.points().get(own.point_type, 0)
        if change:
            result.affected += 1
            result.extra_minor += change
            extra_per_day[at.astimezone(zone).date()] += change
        reward = next((r for r in with_draft.rewards if r.promotion == own.key), None)
        if reward is None or not (reward.amount or reward.voucher_types):
            continue
        result.earned += 1
        result.capped += bool(reward.capped)
        result.vouchers += len(reward.voucher_types)
        total += reward.amount
        entry = by_member.setdefault(past.membership_id, [past.membership_number, 0, 0])
        entry[1] += reward.amount
        entry[2] += 1
    precision = precisions.get(own.point_type, 0)
    result.points = to_points(total, precision)
    result.extra = to_points(result.extra_minor, precision)
    result.extra_per_day = dict(extra_per_day)
    top = sorted(by_member.values(), key=lambda e: (-e[1], e[0]))[:10]
    result.top_members = [MemberTotal(number, to_points(points, precision), count) for number, points, count in top]
    return result


# Test baskets --------------------------------------------------------------------------------------


def sample_to_json(sample: Sample) -> dict[str, Any]:
    return {
        "channel": sample.channel,
        "occurredAt": sample.occurred_at.isoformat(),
        "membershipKey": sample.membership_key,
        "paymentMethod": sample.payment_method,
        "properties": sample.properties,
        "member": sample.member,
        "items": [
            {
                "productKey": i.product_key,
                "quantity": str(i.quantity),
                "unitPrice": str(i.unit_price),
                "amount": str(i.amount),
            }
            for i in sample.items
        ],
    }


def sample_from_json(data: dict[str, Any]) -> Sample:
    return Sample(
        channel=data["channel"],
        occurred_at=datetime.fromisoformat(data["occurredAt"]),
        items=[
            Item(i["productKey"], Decimal(i["quantity"]), Decimal(i["unitPrice"]), Decimal(i["amount"]))
            for i in data["items"]
        ],
        membership_key=data.get("membershipKey", ""),
        payment_method=data.get("paymentMethod", ""),
        properties=data.get("properties") or {},
        member=data.get("member"),
    )


def points_of(result: TryResult) -> dict[str, str]:
    """What a simulation earned, per point type key, as the API writes amounts."""
    return {pt: result.show(amount, pt) for pt, amount in sorted(result.evaluation.points().items())}


@dataclass
class BasketCheck:
    pk: int
    name: str
    summary: str
    expected: dict[str, str]
    now: dict[str, str]
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and self.now == self.expected


def check_baskets(promotion: Promotion) -> list[BasketCheck]:
    """Every saved test basket of the promotion run again with its current version and the live promotions."""
    from loyalty.errors import DomainError

    checks = []
    for basket in promotion.test_baskets.all():
        sample = sample_from_json(basket.sample)
        lines = ", ".join(f"{i.quantity.normalize():f} × {i.product_key}" for i in sample.items)
        summary = f"{lines} at {sample.channel}" + (
            f", member {sample.membership_key}" if sample.membership_key else ""
        )
        try:
            now = points_of(try_sample(promotion, sample))
        except DomainError as exc:
            checks.append(BasketCheck(basket.pk, basket.name, summary, basket.expected, {}, error=exc.detail))
        else:
            checks.append(BasketCheck(basket.pk, basket.name, summary, basket.expected, now))
    return checks


# Backtest runs on a worker ----------------------------------------------------------------------------


def result_to_json(result: BacktestResult) -> dict[str, Any]:
    return {
        **{k: v for k, v in result.__dict__.items() if k not in ("since", "until", "top_members", "extra_per_day")},
        "since": result.since.isoformat(),
        "until": result.until.isoformat() if result.until else None,
        "top_members": [m.__dict__ for m in result.top_members],
        "extra_per_day": {day.isoformat(): amount for day, amount in result.extra_per_day.items()},
    }


def result_from_json(data: dict[str, Any]) -> BacktestResult:
    return BacktestResult(
        **{
            **data,
            "since": datetime.fromisoformat(data["since"]),
            "until": datetime.fromisoformat(data["until"]) if data.get("until") else None,
            "top_members": [MemberTotal(**m) for m in data["top_members"]],
            "extra_per_day": {date.fromisoformat(d): amount for d, amount in data["extra_per_day"].items()},
        }
    )


def run_backtest(run_id: int) -> None:
    """A queued backtest run: its progress written as it goes, its report when done (the worker's task)."""
    from promotions.models import BacktestRun

    run = BacktestRun.objects.select_related("promotion__current_version").get(pk=run_id)
    if run.status not in (BacktestRun.Status.QUEUED, BacktestRun.Status.RUNNING):
        return
    BacktestRun.objects.filter(pk=run.pk).update(status=BacktestRun.Status.RUNNING)

    def report(scanned: int) -> None:
        BacktestRun.objects.filter(pk=run.pk).update(scanned=scanned)

    try:
        result = backtest(run.promotion, days=run.days, now=run.until, progress=report)
    except Exception as exc:
        BacktestRun.objects.filter(pk=run.pk).update(
            status=BacktestRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    BacktestRun.objects.filter(pk=run.pk).update(
        status=BacktestRun.Status.DONE,
        scanned=result.scanned,
        result=result_to_json(result),
        finished_at=timezone.now(),
    )
