"""Reads of memberships, including the one key resolver every app uses for `{key}`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.models import MembershipType
from loyalty.prepared import raw_models
from loyalty.rollups import HourlySnapshot
from memberships.errors import (
    AmbiguousKey,
    CardNotFound,
    LegalEntityNotFound,
    MembershipNotFound,
    MembershipTypeNotFound,
)
from memberships.models import AlternateId, Card, KeyClaim, LegalEntity, Membership, MembershipStatus, Remark

MAX_KEY_LENGTH = 100
# A chain of merges is flattened when it forms (A->B, then B->C repoints A to C); this only guards
# against rows written some other way.
MAX_MERGE_HOPS = 10


def memberships() -> QuerySet[Membership]:
    return Membership.objects.select_related("membership_type", "tier", "sponsor", "legal_entity", "merged_into")


def _usable_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def _resolution_sql() -> str:
    """The memberships whose number, active card or alternate id value is the key: one statement.

    An active card is one with status active and today within its validity dates; cards of legal
    entities (no membership) do not identify a membership.

    Raw SQL because this is the hottest read of the platform (every call with a {key}): three
    unique or B-tree index lookups in one round trip, and no query building in Python.
    """
    membership, card, alternate_id = (model._meta.db_table for model in (Membership, Card, AlternateId))
    return (
        f"SELECT * FROM {membership} WHERE id IN ("  # noqa: S608 - table names from the models, values as params
        f"SELECT id FROM {membership} WHERE number = %s "
        f"UNION ALL SELECT membership_id FROM {card} WHERE number = %s AND status = %s "
        "AND membership_id IS NOT NULL AND (valid_from IS NULL OR valid_from <= %s) "
        "AND (valid_until IS NULL OR valid_until >= %s) "
        f"UNION ALL SELECT membership_id FROM {alternate_id} WHERE value = %s"
        ") LIMIT 5"
    )


_RESOLUTION_SQL: list[str] = []


def memberships_matching(key: str) -> list[Membership]:
    """The distinct memberships whose number, active card or alternate id value equals `key`."""
    if not _RESOLUTION_SQL:
        _RESOLUTION_SQL.append(_resolution_sql())
    today = timezone.localdate()
    return raw_models(Membership, _RESOLUTION_SQL[0], [key, key, Card.Status.ACTIVE, today, today, key])


def membership_ids_by_key(keys: list[str]) -> dict[str, int]:
    """resolve_membership for many keys without following merges: {key: membership id} for each key
    that names exactly one membership (by number, active card or alternate id). Keys that match none
    or several are left out (resolve_membership says why). Three queries whatever the number of keys."""
    usable = {k for k in keys if isinstance(k, str) and k == k.strip() and _usable_key(k)}
    if not usable:
        return {}
    today = timezone.localdate()
    matches: dict[str, set[int]] = {}
    pairs = [
        *Membership.objects.filter(number__in=usable).values_list("number", "pk"),
        *Card.objects.filter(number__in=usable, status=Card.Status.ACTIVE, membership__isnull=False)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .values_list("number", "membership_id"),
        *AlternateId.objects.filter(value__in=usable).values_list("value", "membership_id"),
    ]
    for key, pk in pairs:
        matches.setdefault(key, set()).add(pk)
    return {key: next(iter(ids)) for key, ids in matches.items() if len(ids) == 1}


def resolve_membership(key: str, *, follow_merges: bool = True, for_update: bool = False) -> Membership:
    """The membership `key` names: its number, an active card number, or an alternate id value.

    The three are searched together, in one query. When they point at different memberships the
    key is ambiguous (409 `ambiguous_key`); when none matches it is 404 `membership_not_found`. A
    merged membership resolves to the one it was merged into (unless `follow_merges=False`, which
    the merge itself uses to refuse merging a membership twice, and the details use to show a merged
    number with its `mergedInto`). `for_update` locks the row; call it inside a transaction.
    """
    key = key.strip() if isinstance(key, str) else ""
    if not _usable_key(key):
        raise MembershipNotFound()
    found = memberships_matching(key)
    if not found:
        raise MembershipNotFound()
    membership = found[0] if len(found) == 1 else _one_member(found, key)
    if membership is None:
        raise AmbiguousKey(f"{key!r} matches {len(found)} memberships (by number, card or alternate id).")
    if for_update:
        return membership_by_id(membership.pk, follow_merges=follow_merges, for_update=True)
    return follow_merges_of(membership) if follow_merges else membership


def key_claims(values: Iterable[str]) -> dict[str, tuple[int | None, int | None]]:
    """{value: (membership id, legal entity id)} for those of `values` claimed in the one key space
    (one query): the bulk services' and the admin forms' check."""
    values = set(values)
    if not values:
        return {}
    rows = KeyClaim.objects.filter(value__any=values).values_list("value", "membership_id", "legal_entity_id")
    return {value: (membership_id, legal_entity_id) for value, membership_id, legal_entity_id in rows}


def key_taken_by_other(
    value: str, *, membership: Membership | None = None, legal_entity: LegalEntity | None = None
) -> bool:
    """Whether another holder than the one given claimed `value`: the admin forms' early check (the
    service and the database decide)."""
    held = key_claims([value]).get(value)
    holder = (membership.pk if membership else None, legal_entity.pk if legal_entity else None)
    return held is not None and held != holder


@dataclass(frozen=True)
class KeyUse:
    """One use of a value of the key space: where a holder has it.

    The holder is a membership (the survivor for a merged one: its number and keys lead there) or a
    legal entity (its cards)."""

    value: str
    kind: str  # "membership number", "card" or "alternate id"
    detail: str  # the card's status, the alternate id's type, the membership's status
    membership_id: int | None
    membership_number: str | None  # of the membership that has the value itself (merged or not)
    legal_entity_id: int | None
    legal_entity: str | None  # its registration number

    @property
    def holder(self) -> tuple[int | None, int | None]:
        return (self.membership_id, self.legal_entity_id)


def key_uses(values: list[str]) -> list[KeyUse]:
    """Every use of each of `values` as a membership number, a card number (active or not, of members
    and of legal entities) or an alternate id value, in the order of key resolution (number, card,
    alternate id). Three indexed queries whatever the number of values."""
    values = list(dict.fromkeys(values))
    if not values:
        return []
    uses: list[KeyUse] = []
    for number, pk, merged_into, status in Membership.objects.filter(number__any=values).values_list(
        "number", "pk", "merged_into_id", "status"
    ):
        uses.append(KeyUse(number, "membership number", status, merged_into or pk, number, None, None))
    cards = (
        Card.objects.filter(number__any=values)
        .order_by("status", "id")  # active before inactive
        .values_list(
            "number",
            "status",
            "membership_id",
            "membership__merged_into_id",
            "membership__number",
            "legal_entity_id",
            "legal_entity__registration_number",
        )
    )
    for number, status, pk, merged_into, member_number, entity, registration in cards:
        uses.append(
            KeyUse(number, "card", status, (merged_into or pk) if pk else None, member_number, entity, registration)
        )
    alternate_ids = (
        AlternateId.objects.filter(value__any=values)
        .order_by("id")
        .values_list("value", "type", "membership_id", "membership__merged_into_id", "membership__number")
    )
    for value, type_, pk, merged_into, member_number in alternate_ids:
        uses.append(KeyUse(value, "alternate id", type_, merged_into or pk, member_number, None, None))
    order = {value: i for i, value in enumerate(values)}
    return sorted(uses, key=lambda use: order[use.value])  # stable: resolution order within a value


def _clash_sql() -> str:
    """The values that lead to more than one member the way key resolution looks (membership numbers,
    active cards of members whatever their validity dates, alternate id values; a merged membership
    counts as its survivor)."""
    membership, card, alternate_id = (model._meta.db_table for model in (Membership, Card, AlternateId))
    return (
        "SELECT value FROM ("  # noqa: S608 - table names from the models, values as params
        f"SELECT number AS value, COALESCE(merged_into_id, id) AS member FROM {membership} "
        f"UNION ALL SELECT c.number, COALESCE(m.merged_into_id, m.id) FROM {card} c "
        f"JOIN {membership} m ON m.id = c.membership_id WHERE c.status = %s "
        f"UNION ALL SELECT a.value, COALESCE(m.merged_into_id, m.id) FROM {alternate_id} a "
        f"JOIN {membership} m ON m.id = a.membership_id"
        ") AS uses GROUP BY value HAVING COUNT(DISTINCT member) > 1 ORDER BY value"
    )


def key_clashes() -> dict[str, list[KeyUse]]:
    """The values stored for more than one member, each with all its uses (inactive cards and cards of
    legal entities too, for the picture): clashes written before the one key space, or past the
    services. Key resolution answers `ambiguous_key` for them. One pass over the three tables, then
    the uses of the clashing values."""
    with connection.cursor() as cursor:
        cursor.execute(_clash_sql(), [Card.Status.ACTIVE])
        values = [row[0] for row in cursor.fetchall()]
    clashes: dict[str, list[KeyUse]] = {value: [] for value in values}
    for chunk in range(0, len(values), 1000):
        for use in key_uses(values[chunk : chunk + 1000]):
            clashes[use.value].append(use)
    return clashes


def _one_member(found: list[Membership], key: str) -> Membership | None:
    """Several matches that lead to one member after merges (a merged membership's number and its
    card, now the survivor's): the match by number if there is one, else the survivor. None when
    they lead to different members (ambiguous)."""
    if len({m.merged_into_id or m.pk for m in found}) != 1:
        return None
    by_number = [m for m in found if m.number == key]
    survivor = [m for m in found if m.status != MembershipStatus.MERGED]
    return (by_number or survivor or found)[0]


def follow_merges_of(membership: Membership, queryset: QuerySet[Membership] | None = None) -> Membership:
    """The membership a merged one leads to (itself when it is not merged)."""
    queryset = queryset if queryset is not None else Membership.objects.all()
    hops = 0
    while membership.status == MembershipStatus.MERGED and membership.merged_into_id:
        hops += 1
        if hops > MAX_MERGE_HOPS:
            raise MembershipNotFound("The merge chain of this membership is too long to follow.")
        membership = queryset.get(pk=membership.merged_into_id)
    return membership


def membership_by_id(pk: int, *, follow_merges: bool = True, for_update: bool = False) -> Membership:
    queryset = Membership.objects.all()
    if for_update:
        # of=("self",): lock the membership only, not the membership type row it joins; no_key: let the
        # foreign-key checks of rows that name the member through (see lock_membership).
        queryset = Membership.objects.select_for_update(of=("self",), no_key=True).select_related("membership_type")
    membership = queryset.get(pk=pk)
    return follow_merges_of(membership, queryset) if follow_merges else membership


def membership_type_by_key(key: str) -> MembershipType:
    membership_type = MembershipType.objects.filter(key=key).first() if _usable_key(key) else None
    if membership_type is None:
        raise MembershipTypeNotFound(f"No membership type has the key {key!r}.")
    return membership_type


def card_by_number(number: str) -> Card:
    card = (
        Card.objects.select_related("membership", "legal_entity").filter(number=number.strip()).first()
        if _usable_key(number.strip())
        else None
    )
    if card is None:
        raise CardNotFound()
    return card


def legal_entity_of(membership: Membership) -> LegalEntity:
    if membership.legal_entity_id is None:
        raise LegalEntityNotFound(f"Membership {membership.number} belongs to no legal entity.")
    return legal_entities().get(pk=membership.legal_entity_id)


def legal_entities() -> QuerySet[LegalEntity]:
    # The users are shown by number only: one extra query whatever their count, no personal data.
    users = Prefetch("users", queryset=Membership.objects.only("id", "number", "legal_entity_id").order_by("number"))
    return LegalEntity.objects.select_related("membership_type").prefetch_related(users)


def cards_of(holder: Membership | LegalEntity) -> QuerySet[Card]:
    if isinstance(holder, Membership):
        return Card.objects.filter(membership=holder).order_by("-issued_at", "-id")
    return Card.objects.filter(legal_entity=holder).order_by("-issued_at", "-id")


def remarks_of(membership: Membership) -> QuerySet[Remark]:
    return Remark.objects.filter(membership=membership).order_by("-created_at", "-id")


def alternate_ids_of(membership: Membership) -> QuerySet[AlternateId]:
    return AlternateId.objects.filter(membership=membership).order_by("type", "value")


SUMMARY_COLUMNS = (
    "id",
    "number",
    "status",
    "first_name",
    "last_name",
    "email",
    "enrolled_at",
    "membership_type_id",
    "tier_id",
)


def search_memberships() -> QuerySet[Membership]:
    """The search list: the columns a row shows, with the keys of its type and tier joined in as
    plain values (no related model instances, and no self-join for the survivor of a merged one,
    whose details say it): less than half the cost of select_related."""
    return (
        Membership.objects.only(*SUMMARY_COLUMNS)
        .annotate(membership_type_key=F("membership_type__key"), tier_key=F("tier__key"))
        .order_by("-enrolled_at", "-id")
    )


def with_name_aliases(queryset: QuerySet[Membership]) -> QuerySet[Membership]:
    """lower(first_name) and lower(last_name), the expressions PostgreSQL's name indexes cover."""
    return queryset.alias(name_first=Lower("first_name"), name_last=Lower("last_name"))


def name_condition(term: str) -> Q:
    """Case-insensitive prefix match on first or last name; "Ann Smi" matches Ann Smith.

    Prefix (not substring) so that PostgreSQL uses the lower(...) text_pattern_ops indexes.
    Needs the aliases of with_name_aliases().
    """
    words = term.lower().split()
    if not words:
        return Q()
    if len(words) == 1:
        return Q(name_last__startswith=words[0]) | Q(name_first__startswith=words[0])
    first, rest = words[0], " ".join(words[1:])
    return Q(name_first__startswith=first, name_last__startswith=rest) | Q(
        name_last__startswith=first, name_first__startswith=rest
    )


def filter_by_name(queryset: QuerySet[Membership], term: str) -> QuerySet[Membership]:
    return with_name_aliases(queryset).filter(name_condition(term))


def ids_by_identifier(term: str) -> list[int]:
    """Memberships whose number, card (active or not), alternate id value or e-mail address is `term`.

    One round trip of four indexed lookups; the staff search box starts here.
    """
    term = term.strip()
    if not _usable_key(term):
        return []
    by_number = Membership.objects.filter(number=term).order_by().values_list("id", flat=True)
    by_card = (
        Card.objects.filter(number=term, membership__isnull=False).order_by().values_list("membership_id", flat=True)
    )
    by_alternate_id = AlternateId.objects.filter(value=term).order_by().values_list("membership_id", flat=True)
    by_email = Membership.objects.filter(email=term.lower()).order_by().values_list("id", flat=True)
    found = by_number.union(by_card, by_alternate_id, by_email)
    if phone := _as_phone(term):
        found = found.union(Membership.objects.filter(phone=phone).order_by().values_list("id", flat=True))
    return sorted(set(found))


def _as_phone(term: str) -> str:
    """The term as a stored phone number (+31 6 1234 5678 -> +31612345678), or "" if it is none."""
    from django.core.exceptions import ValidationError

    from memberships.validation import clean_phone

    try:
        return clean_phone(term)
    except ValidationError:
        return ""


def member_ids(term: str) -> list[int]:
    """The memberships an admin search term names by number, card, alternate id or e-mail, with those
    merged into them (their bookings and purchases are the survivor's history): the bookings and
    transactions lists find a member's rows by any of the member's keys."""
    ids = ids_by_identifier(term)
    return sorted({i for pk in ids for i in membership_and_merged_ids(Membership(pk=pk))}) if ids else []


# The start of an e-mail address is searched from this many characters on (fewer match too many).
EMAIL_PREFIX_MIN = 3


def staff_search(queryset: QuerySet[Membership], term: str) -> QuerySet[Membership]:
    """The admin search: an exact number, card, alternate id, e-mail or phone number, or the start of a
    name or of an e-mail address, in any case."""
    ids = ids_by_identifier(term)
    condition = Q(id__in=ids) | name_condition(term)
    word = term.strip().lower()
    if len(word) >= EMAIL_PREFIX_MIN and " " not in word:
        condition |= Q(email__startswith=word)
    return with_name_aliases(queryset).filter(condition)


def can_view_personal_data(actor: Actor) -> bool:
    """API clients get personal data (their key was granted by a manager); staff need the permission."""
    if actor.client is not None:
        return True
    if actor.user is not None:
        return actor.user.has_perm("memberships.view_personal_data")
    return True


def owners_with_merged(ids: list[int]) -> dict[int, int]:
    """Each of `ids`, and every membership merged into one of them (transitively), mapped to the one of
    `ids` whose history it is: membership_and_merged_ids for a whole page, one query per merge level."""
    owner = {pk: pk for pk in ids}
    frontier = list(ids)
    while frontier:
        rows = Membership.objects.filter(merged_into_id__in=frontier).values_list("pk", "merged_into_id")
        frontier = []
        for pk, into in rows:
            owner[pk] = owner[into]
            frontier.append(pk)
    return owner


def membership_and_merged_ids(membership: Membership) -> list[int]:
    """The membership and every one merged into it (transitively): their history is its history."""
    ids, frontier = [membership.pk], [membership.pk]
    while frontier:
        frontier = list(Membership.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        ids += frontier
    return ids


def members_now(now: datetime) -> list[dict[str, Any]]:
    """Members per enrolling sponsor, status and tier (merged memberships left out: their member lives on
    in the survivor). One pass over the table: the hourly snapshot MEMBER_COUNTS."""
    rows = (
        Membership.objects.exclude(status=MembershipStatus.MERGED)
        .values("sponsor_id", "status", "tier_id")
        .annotate(members=Count("id"))
        .order_by()
    )
    return [
        {"sponsor": r["sponsor_id"], "status": r["status"], "tier": r["tier_id"], "members": r["members"]} for r in rows
    ]


def member_counts(
    start: datetime, end: datetime, sponsor_id: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Members by status and tier, as of the hourly snapshot (`as_of`). New members per day:
    enrollments_per_day."""
    from loyalty.rollups import snapshot_value

    rows, as_of = snapshot_value(MEMBER_COUNTS, now or timezone.now())
    by_status: dict[str, int] = defaultdict(int)
    by_tier: dict[int | None, int] = defaultdict(int)
    for row in rows:
        if sponsor_id is not None and row["sponsor"] != sponsor_id:
            continue
        by_status[row["status"]] += row["members"]
        if row["status"] == MembershipStatus.ACTIVE:
            by_tier[row["tier"]] += row["members"]
    return {"total": sum(by_status.values()), "by_status": dict(by_status), "by_tier": dict(by_tier), "as_of": as_of}


def enrollments_per_day(start: datetime, end: datetime, tz: tzinfo, sponsor_id: int | None = None) -> dict[date, int]:
    """Memberships enrolled per day of the program's time zone, merged ones included (they enrolled):
    the enrollment index alone answers it, without reading the table."""
    rows = Membership.objects.filter(enrolled_at__gte=start, enrolled_at__lt=end)
    if sponsor_id is not None:
        rows = rows.filter(sponsor_id=sponsor_id)
    per_day = rows.annotate(day=TruncDate("enrolled_at", tzinfo=tz)).values("day").annotate(n=Count("id")).order_by()
    return {row["day"]: row["n"] for row in per_day}


MEMBER_COUNTS = HourlySnapshot(name="memberships.counts", take=members_now)
