"""What the ledger shows in the back office through the other apps' hooks: the member page's points
panel (balances per point type in points, what is blocked until when, what expires soon), its
statement (bookings with the balance after each, paginated on a page of its own) and the list's
points column (memberships.hooks), what
cancelling a membership would forfeit, and what a new program time zone or precision means for the
bookings made so far (loyalty.hooks)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from ledger.amounts import show_points, to_points
from ledger.models import Account, Booking, Lot, PointType, Posting
from ledger.selectors import balances_of
from loyalty.models import Program

STATEMENT_LINES = 20
STATEMENT_PAGE = 50
EXPIRING_DAYS = 90


def describe(booking: Booking) -> str:
    """What a booking was, in words."""
    what = {
        Booking.Kind.EARN: "Purchase",
        Booking.Kind.REDEEM: "Redeemed",
        Booking.Kind.ADJUST: "Adjustment",
        Booking.Kind.TRANSFER: "Transfer",
        Booking.Kind.REVERSAL: "Return",
        Booking.Kind.EXPIRE: "Expired",
        Booking.Kind.FORFEIT: "Forfeited",
        Booking.Kind.MERGE: "Moved by a merge",
    }.get(booking.kind, booking.get_kind_display())
    detail = booking.reason or booking.reference or (f"receipt {booking.receipt_id}" if booking.receipt_id else "")
    return f"{what}: {detail}" if detail else what


def metadata_in_points(metadata: dict[str, Any]) -> dict[str, Any]:
    """A booking's metadata as the booking page shows it: the earn's `lines` (stored as point type ids
    and minor units, which the reversal reads) named and in points ("2,554.53 Points"); the rest as stored."""
    lines = metadata.get("lines")
    if not isinstance(lines, list) or not lines:
        return metadata
    types = PointType.objects.in_bulk({line.get("point_type") for line in lines if isinstance(line, dict)})
    shown = []
    for line in lines:
        point_type = types.get(line.get("point_type")) if isinstance(line, dict) else None
        if point_type is None or not isinstance(line.get("amount"), int):
            shown.append(line)
            continue
        shown.append(
            {
                "line": line.get("line_ref") or "the whole purchase",
                "points": f"{show_points(line['amount'], point_type.precision)} {point_type.name}",
            }
        )
    return {**metadata, "lines": shown}


def _member_accounts(membership: Any) -> dict[int, Account]:
    return {
        a.pk: a
        for a in Account.objects.filter(kind=Account.Kind.MEMBER, membership=membership).select_related("point_type")
    }


def points_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    """The member's balances per point type: redeemable, blocked until which day, expiring soon."""
    if not request.user.has_perm("ledger.view_booking"):
        return None
    zone = ZoneInfo(Program.current().time_zone)
    now = timezone.now()
    accounts = _member_accounts(membership)
    lots = (
        Lot.objects.filter(account_id__in=accounts, state=Lot.State.ACTIVE, remaining__gt=0)
        .filter(Q(matures_at__gt=now) | Q(expires_at__gt=now, expires_at__lte=now + timedelta(days=EXPIRING_DAYS)))
        .values("account_id", "matures_at", "expires_at")
        .annotate(amount=Sum("remaining"))
        .order_by("matures_at", "expires_at")
    )
    # Summed per day (program time): what is released and what expires on each day.
    blocked: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    expiring: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for lot in lots:
        point_type = accounts[lot["account_id"]].point_type
        if lot["matures_at"] > now:
            blocked[point_type.pk][lot["matures_at"].astimezone(zone).date()] += lot["amount"]
        elif lot["expires_at"] is not None:
            expiring[point_type.pk][lot["expires_at"].astimezone(zone).date()] += lot["amount"]

    def by_day(days: dict, precision: int) -> list[tuple]:
        return [(day, show_points(amount, precision)) for day, amount in sorted(days.items())]

    balances = [
        {
            "name": b.point_type.name,
            "balance": show_points(b.balance, b.point_type.precision),
            "redeemable": show_points(b.redeemable, b.point_type.precision) if b.point_type.redeemable else None,
            "blocked": show_points(b.blocked, b.point_type.precision),
            "blocked_until": by_day(blocked[b.point_type.pk], b.point_type.precision),
            "expiring": by_day(expiring[b.point_type.pk], b.point_type.precision),
        }
        for b in balances_of(membership)
    ]
    page = reverse("admin:memberships_membership_change", args=[membership.pk])
    can_adjust = request.user.has_perm("ledger.add_booking") and membership.status not in ("cancelled", "merged")
    adjust = urlencode({"membership": membership.number, "next": page})
    return {
        "balances": balances,
        "adjust_url": f"{reverse('admin:ledger_booking_adjust')}?{adjust}" if can_adjust else None,
    }


def statement_lines(accounts: dict[int, Account], postings: list[Posting], after: dict[int, int]) -> list[dict]:
    """Statement lines, newest first, each with the account's balance after it: `after` holds each
    account's balance after the newest line given, and the walk goes back from there."""
    zone = ZoneInfo(Program.current().time_zone)
    running = dict(after)
    lines = []
    for posting in postings:
        point_type = accounts[posting.account_id].point_type
        lines.append(
            {
                "at": posting.booking.effective_at.astimezone(zone),  # when it happened (a purchase's time)
                "what": describe(posting.booking),
                "sponsor": posting.booking.sponsor.name,
                "point_type": point_type.name,
                "amount": show_points(posting.amount, point_type.precision),
                "balance": show_points(running[posting.account_id], point_type.precision),
                "url": reverse("admin:ledger_booking_change", args=[posting.booking_id]),
            }
        )
        running[posting.account_id] -= posting.amount
    return lines


def statement_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    """The latest bookings in points with the balance after each, linking to the whole statement."""
    if not request.user.has_perm("ledger.view_booking"):
        return None
    accounts = _member_accounts(membership)
    postings = list(
        Posting.objects.filter(account_id__in=accounts)
        .select_related("booking__sponsor")
        .order_by("-id")[:STATEMENT_LINES]
    )
    return {
        "statement": statement_lines(accounts, postings, {pk: a.balance for pk, a in accounts.items()}),
        "zone": Program.current().time_zone,
        "statement_url": reverse("admin:ledger_booking_statement", args=[membership.pk]),
        "all_bookings_url": reverse("admin:ledger_booking_changelist") + "?" + urlencode({"q": membership.number}),
    }


def statement_page(membership: Any, *, page: Any = 1, point_type: PointType | None = None) -> dict[str, Any]:
    """One page of a member's statement (newest first), in a fixed number of queries whichever page:
    the balance after the page's newest line is today's balance less every later posting (one sum)."""
    accounts = _member_accounts(membership)
    if point_type is not None:
        accounts = {pk: a for pk, a in accounts.items() if a.point_type_id == point_type.pk}
    postings = Posting.objects.filter(account_id__in=accounts).select_related("booking__sponsor").order_by("-id")
    paginator = Paginator(postings, STATEMENT_PAGE)
    shown = paginator.get_page(page)
    lines = list(shown.object_list)
    after = {pk: a.balance for pk, a in accounts.items()}
    if lines and shown.number > 1:
        later = (
            Posting.objects.filter(account_id__in=accounts, id__gt=lines[0].pk)
            .values("account_id")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        for row in later:
            after[row["account_id"]] -= row["total"]
    return {
        "lines": statement_lines(accounts, lines, after),
        "page": shown,
        "zone": Program.current().time_zone,
    }


def forfeit_preview(memberships: list[Any]) -> dict[int, list[str]]:
    """What cancelling would do to the points: what forfeit_membership_points would take (every lot
    still holding points, blocked ones too) and the debts it would write off. One query."""
    rows = (
        Lot.objects.filter(
            account__kind=Account.Kind.MEMBER,
            account__membership__in=[m.pk for m in memberships],
            state__in=[Lot.State.ACTIVE, Lot.State.DEBT],
        )
        .exclude(remaining=0)
        .values("account__membership_id", "account__point_type__name", "account__point_type__precision")
        .annotate(held=Sum("remaining", filter=Q(remaining__gt=0)), owed=Sum("remaining", filter=Q(remaining__lt=0)))
        .order_by("account__membership_id", "account__point_type__name")
    )
    held: dict[int, list[str]] = defaultdict(list)
    owed: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        name, precision, pk = (
            row["account__point_type__name"],
            row["account__point_type__precision"],
            row["account__membership_id"],
        )
        if row["held"]:
            held[pk].append(f"{show_points(row['held'], precision)} {name}")
        if row["owed"]:
            owed[pk].append(f"{show_points(-row['owed'], precision)} {name}")
    found: dict[int, list[str]] = {}
    for membership in memberships:
        sentences = []
        if held[membership.pk]:
            sentences.append(f"{_and(held[membership.pk])} will be forfeited (back to the sponsors that issued them).")
        if owed[membership.pk]:
            sentences.append(f"A debt of {_and(owed[membership.pk])} will be written off.")
        found[membership.pk] = sentences or ["No points to forfeit."]
    return found


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def balance_column(ids: list[int]) -> dict[str, dict[int, str]]:
    """The membership list's points column: the balance of the main point type, in points."""
    main = PointType.objects.filter(is_main=True).only("precision").first()
    if main is None:
        return {}
    rows = Account.objects.filter(kind=Account.Kind.MEMBER, membership_id__in=ids, point_type=main)
    found = {pk: show_points(0, main.precision) for pk in ids}
    for pk, balance in rows.values_list("membership_id", "balance"):
        found[pk] = show_points(balance, main.precision)
    return {"points": found}


def program_change_notes(program: Any, changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """loyalty.hooks: what a new time zone or points precision means for the bookings made so far."""
    bookings = Booking.objects.count()
    if not bookings:
        return []
    notes = []
    if "time_zone" in changes:
        before, after = changes["time_zone"]
        made = f"{bookings:,} booking was" if bookings == 1 else f"{bookings:,} bookings were"
        notes.append(
            f"{made} made while the program ran on {before}. Expiry dates already set stay "
            f"as they are; from now on new expiry dates, promotion hours and days, daily and monthly caps and "
            f"tier windows count in {after}. The dashboard's days are counted in {after} too: its daily "
            f"summaries are summed again within the hour."
        )
    if "points_precision" in changes:
        shown = ", ".join(
            f"{name}: {precision}" for name, precision in PointType.objects.values_list("name", "precision")
        )
        notes.append(
            f"Stored points do not change: each point type keeps its own decimal places ({shown}). This setting is "
            "the program's default that integrators read."
        )
    return notes


def balance_column_names() -> list[str]:
    """The memberships export's balance columns: `balance:<point type key>`, one per active type."""
    return [
        f"balance:{key}" for key in PointType.objects.filter(active=True).order_by("key").values_list("key", flat=True)
    ]


def balance_column_values(membership_ids: list[int]) -> dict[int, list[Any]]:
    """Each member's balance per active point type, in points (one query for the whole chunk)."""
    types = list(PointType.objects.filter(active=True).order_by("key"))
    position = {pt.pk: i for i, pt in enumerate(types)}
    values: dict[int, list[Any]] = {pk: [to_points(0, pt.precision) for pt in types] for pk in membership_ids}
    accounts = Account.objects.filter(
        kind=Account.Kind.MEMBER, membership_id__in=membership_ids, point_type_id__in=position
    ).values_list("membership_id", "point_type_id", "balance")
    for membership_id, point_type_id, balance in accounts:
        values[membership_id][position[point_type_id]] = to_points(balance, types[position[point_type_id]].precision)
    return values
