"""A large, consistent loyalty data set on PostgreSQL for the dashboard benchmark, loaded with set-based SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench_dashboard .venv/bin/python bench/dashboard_data.py \
        [--members 1000000] [--bookings 5000000] [--reset]

or from another benchmark: `ensure_data(url, members=..., bookings=...)`, which returns the row counts.

It creates the database if missing (its name must contain "bench": nothing else is ever touched),
migrates it, loads the demo program with `seed_demo` (program, sponsors, point types, tiers,
channels, products, promotions, voucher types), creates the sponsors' system accounts through
ledger.services, and then, over the 730 days up to now, with INSERT ... SELECT from
generate_series (no Python loop over rows):

- `members` memberships (default 1,000,000): unique Luhn numbers, synthetic names, e-mail
  addresses, phones and addresses; about 96% active, 3% cancelled, 1% blocked; Bronze, Silver and
  Gold; enrolled over the period, more of them early on (the launch). Each has a member account
  for the main and for the status point type.
- 80% of `bookings` as purchases (about 4,000,000), in shop hours of the program's time zone, each
  a `loyalty_transaction` of 1-3 lines of its channel's products with its rewards (base points,
  status points, the weekend bonus on Saturdays and Sundays) and its `earn` booking: issued account
  -X, member account +X per point type, one lot per credit (maturity and expiry by the point
  type's policy) and its lot movement.
- 12% redemptions and 2% debit adjustments, at most one of them per member: each takes part of
  the member's first-to-expire matured lot at that moment (as ledger.services.take would); 2%
  credit adjustments (a lot of their own); 4% expiries of lots past their expiry with points left
  (lot expired, remaining 0); for each cancelled membership, a forfeit of what it still held.
- vouchers for 20% of `members` (the demo's welcome and 10%-off types; about 30% converted, with
  their conversion; the unused ones past their end expired).

Booking, lot, posting and movement ids follow the bookings' time; the postings of every booking
sum to zero per point type; member balances are the sums of their postings; the rows pass
ledger.verify. The load runs with `session_replication_role = replica` (no foreign key checks, no
triggers) in two sessions at once, with the staging data in UNLOGGED tables of a schema of its own
(dropped at the end); it drops the loaded tables' secondary indexes (and the primary keys no
foreign key refers to) and builds them again, then moves the id sequences past the new rows and
runs VACUUM ANALYZE.

What was generated, at which scale, is kept in the table `bench_dashboard_info`: a second run at
the same scale only migrates and returns the counts; another scale, an unfinished load or --reset
drop the database and build it again.
"""

# No `from __future__ import annotations`: bench/dashboard.py loads this file without registering it
# in sys.modules, and dataclasses cannot resolve string annotations of such a module.
import argparse
import json
import os
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# This file lives in bench/ beside bench/ledger.py and bench/memberships.py: keep bench/ off the
# import path, or `import ledger` / `import memberships` would find those scripts, not the apps.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
os.environ.setdefault("DEBUG", "false")

INFO_TABLE = "bench_dashboard_info"
STAGE = "bench_stage"  # the schema of the staging tables while loading
DAYS = 730

# Shares of `bookings` per kind; the forfeits of the cancelled memberships come on top.
PURCHASES, REDEMPTIONS, DEBITS, CREDITS, EXPIRIES = 0.80, 0.12, 0.02, 0.02, 0.04
VOUCHERS_PER_MEMBER = 0.2
CANCELLED, BLOCKED = 0.03, 0.01

# The tables loaded in bulk: their secondary indexes are dropped first and built again afterwards.
BULK_TABLES = [
    "memberships_membership",
    "ledger_account",
    "ledger_booking",
    "ledger_posting",
    "ledger_lot",
    "ledger_lotmovement",
    "loyalty_transaction",
    "loyalty_transactionline",
    "loyalty_transactionreward",
]
LOADED = [*BULK_TABLES, "vouchers_voucher", "vouchers_conversion"]

FIRST_NAMES = [
    "Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jens", "Katja", "Lars", "Mila",
    "Noah", "Olga", "Piet", "Quinn", "Rosa", "Sven", "Tess", "Ugo", "Vera", "Wim", "Yara", "Zoë", "Lotte",
    "Joost", "Sanne", "Ruben", "Fleur", "Milan", "Julia", "Levi", "Sara", "Thijs", "Eva", "Luuk", "Nina",
]  # fmt: skip
LAST_NAMES = [
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Schmidt", "Dubois", "Rossi",
    "Nowak", "Novák", "García", "Silva", "Hansen", "Johansson", "Kowalski", "Peeters", "Janssens", "Moreau",
    "de Jong", "van Dijk", "Mulder", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
]  # fmt: skip
CITIES = [
    ("Amsterdam", "NL"), ("Utrecht", "NL"), ("Rotterdam", "NL"), ("Den Haag", "NL"), ("Eindhoven", "NL"),
    ("Groningen", "NL"), ("Antwerpen", "BE"), ("Gent", "BE"), ("Köln", "DE"), ("Düsseldorf", "DE"),
]  # fmt: skip
STREETS = ["Hoofdstraat", "Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Parklaan"]
CANCEL_REASONS = ["Moved abroad", "No longer shops here", "Asked to be forgotten", "Duplicate membership"]
CREDIT_REASONS = ["Goodwill: complaint about a delivery", "Missing purchase booked by hand", "Birthday gesture"]
DEBIT_REASONS = ["Points booked twice by the till", "Returned goods, points taken back", "Correction"]
REDEEM_REFERENCES = ["reward catalog", "fuel discount", "webshop checkout", "coffee machine", "store checkout"]
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as ledger.services.core.new_receipt_id draws
PRIME = 1_000_000_007
CHANNEL_WEIGHTS = {"webshop": 3, "brightfuel-stations": 2}  # as transactions.demo weighs them; stores 4

Step = tuple[str, list[str]]  # a label and its statements, run in one transaction


# Scale ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    members: int
    bookings: int

    @property
    def purchases(self) -> int:
        return round(self.bookings * PURCHASES)

    @property
    def redemptions(self) -> int:
        return round(self.bookings * REDEMPTIONS)

    @property
    def debits(self) -> int:
        return round(self.bookings * DEBITS)

    @property
    def credits(self) -> int:
        return round(self.bookings * CREDITS)

    @property
    def expiries(self) -> int:
        return round(self.bookings * EXPIRIES)

    @property
    def vouchers(self) -> int:
        return round(self.members * VOUCHERS_PER_MEMBER)


# Database ------------------------------------------------------------------------------------


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError("bench/dashboard_data.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        raise ValueError(f"Refusing to use database {name!r}: its name must contain 'bench' (this script fills it).")
    return name


def server_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))


def create_database(url: str, *, drop: bool) -> bool:
    """Create the database if missing (dropping it first with `drop`); True when it was created."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    with psycopg.connect(server_url(url), autocommit=True) as conn:
        if drop:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"created database {name}")
    return True


def read_info(url: str) -> dict[str, Any] | None:
    import psycopg

    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass(%s)", [INFO_TABLE]).fetchone()[0] is None:
            return None
        row = conn.execute(f"SELECT value FROM {INFO_TABLE} WHERE key = 'dataset'").fetchone()
    return row[0] if row else None


def write_info(conn: Any, value: dict[str, Any]) -> None:
    from psycopg.types.json import Jsonb

    conn.execute(f"CREATE TABLE IF NOT EXISTS public.{INFO_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)")
    conn.execute(
        f"INSERT INTO public.{INFO_TABLE} (key, value) VALUES ('dataset', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [Jsonb(value)],
    )
    conn.commit()


def setup_django(url: str) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        configured = settings.DATABASES["default"].get("NAME")
        if configured != database_name(url):
            raise RuntimeError(f"Django is configured for {configured!r}, not for {database_name(url)!r}.")
    else:
        os.environ["DATABASE_URL"] = url
    django.setup()


# The demo configuration, read once through the ORM --------------------------------------------


@dataclass
class PointTypeInfo:
    id: int
    key: str
    expiry_policy: str
    expiry_months: int
    maturation_days: int


@dataclass
class Config:
    tz: str
    currency: str
    forecast_days: int
    points: PointTypeInfo
    status: PointTypeInfo
    sponsors: list[int]
    default_sponsor: int
    consumer_type: int
    tiers: list[tuple[int, str]]  # (id, key) by rank
    channels: list[dict[str, Any]]  # key, sponsor, weight, offset and count of its products
    products: list[tuple[int, str, Any, dict[str, Any]]]  # (index from 1, key, price, facts)
    versions: dict[str, int]  # promotion key: current version id
    system_accounts: dict[tuple[str, int, int], int] = field(default_factory=dict)  # (kind, sponsor, type): id
    voucher_types: list[dict[str, Any]] = field(default_factory=list)


def read_config() -> Config:
    """The demo program's configuration; creates the sponsors' system accounts as the services do."""
    from ledger.models import Account, PointType
    from ledger.services.core import system_account
    from loyalty.models import MembershipType, Program, Sponsor, Tier
    from promotions.catalog_selectors import product_facts
    from promotions.models import Channel, Product, Promotion
    from vouchers.models import VoucherType

    program = Program.objects.get()
    points = PointType.objects.filter(is_main=True).first()
    status = PointType.objects.filter(counts_for_tiers=True, redeemable=False).first()
    if points is None or status is None:
        raise RuntimeError("The demo program needs a main point type and a status point type (seed_demo).")

    def info(pt: PointType) -> PointTypeInfo:
        return PointTypeInfo(pt.pk, pt.key, pt.expiry_policy, pt.expiry_months, pt.maturation_days)

    channels: list[dict[str, Any]] = []
    products: list[tuple[int, str, Any, dict[str, Any]]] = []
    for channel in Channel.objects.filter(active=True, sponsor__isnull=False).order_by("key"):
        rows = list(Product.objects.filter(channel=channel, active=True).order_by("key").values_list("key", "price"))
        if not rows:
            continue
        facts = product_facts(channel.key, [key for key, _ in rows])
        channels.append(
            {
                "key": channel.key,
                "sponsor": channel.sponsor_id,
                "weight": CHANNEL_WEIGHTS.get(channel.key, 4),
                "offset": len(products),
                "count": len(rows),
            }
        )
        for key, price in rows:
            fact = facts[key]
            snapshot = {  # as transactions.services keeps a line's facts
                "known": bool(fact.get("known")),
                "categories": fact.get("categories") or {},
                "custom_categories": sorted(fact.get("custom_categories") or []),
                "brand": fact.get("brand") or "",
                "attributes": fact.get("attributes") or {},
            }
            products.append((len(products) + 1, key, price, snapshot))
    if not channels:
        raise RuntimeError("The demo catalog has no channel with products (seed_demo).")
    versions = {
        p.key: p.current_version_id
        for p in Promotion.objects.filter(key__in=["base-earning", "status-earning", "weekend-bonus"])
        if p.current_version_id
    }
    if "base-earning" not in versions or "status-earning" not in versions:
        raise RuntimeError("The demo promotions base-earning and status-earning are missing (seed_demo).")
    sponsors = list(Sponsor.objects.order_by("pk").values_list("pk", flat=True))
    config = Config(
        tz=program.time_zone,
        currency=program.currency,
        forecast_days=program.expiry_forecast_days,
        points=info(points),
        status=info(status),
        sponsors=sponsors,
        default_sponsor=Sponsor.objects.get(is_default=True).pk,
        consumer_type=MembershipType.objects.get(is_default=True).pk,
        tiers=list(Tier.objects.order_by("rank").values_list("pk", "key")),
        channels=channels,
        products=products,
        versions=versions,
    )
    kinds = {
        points.pk: [Account.Kind.ISSUED, Account.Kind.REDEEMED, Account.Kind.ADJUSTED, Account.Kind.EXPIRED],
        status.pk: [Account.Kind.ISSUED, Account.Kind.EXPIRED],
    }
    for sponsor_id in sponsors:
        for point_type_id, wanted in kinds.items():
            for kind in [*wanted, Account.Kind.FORFEITED]:
                account = system_account(sponsor_id, point_type_id, kind)
                config.system_accounts[(str(kind), sponsor_id, point_type_id)] = account.pk
    for vt in VoucherType.objects.filter(key__in=["welcome", "ten-percent-off"], code_pattern="").order_by("key"):
        config.voucher_types.append(
            {
                "id": vt.pk,
                "key": vt.key,
                "valid_days": vt.valid_days or 30,
                "prefix": vt.code_prefix,
                "suffix": vt.code_suffix,
                "alphabet": vt.code_alphabet,
                "length": vt.code_length,
                "uses": vt.uses_per_voucher,
            }
        )
    return config


# SQL helpers ---------------------------------------------------------------------------------


def luhn_sql(body: str, digits: int = 9) -> str:
    """The Luhn check digit of a `digits`-digit bigint, as text (memberships.numbers.luhn_check_digit)."""
    terms = []
    for index in range(digits):
        digit = f"(({body} / {10**index}) %% 10)"
        terms.append(f"((2 * {digit}) %% 10 + (2 * {digit}) / 10)" if index % 2 == 0 else digit)
    return f"((10 - ({' + '.join(terms)}) %% 10) %% 10)::text"


def code_sql(value: str, alphabet: str, length: int) -> str:
    """`length` characters of `alphabet`: the digits of the bigint `value` in base len(alphabet)."""
    base = len(alphabet)
    return " || ".join(
        f"substr('{alphabet}', 1 + (({value} / {base**index}::bigint) %% {base})::int, 1)" for index in range(length)
    )


def permuted_sql(number: str, modulus: int) -> str:
    """A bijection of 0..modulus-1 (PRIME divides no modulus used here): distinct numbers, distinct codes."""
    return f"((({number})::numeric * {PRIME}) %% {modulus})::bigint"


def expiry_sql(pt: PointTypeInfo, local: str) -> str:
    """expires_at of points earned at the program-local timestamp `local` (ledger.services.core.expiry_for)."""
    if pt.expiry_policy == "never":
        return "NULL::timestamptz"
    shifted = f"({local} + interval '{pt.expiry_months} months')"
    if pt.expiry_policy == "months":
        return f"({shifted} AT TIME ZONE %(tz)s)"
    unit, period = {
        "end_of_month": ("month", "1 month"),
        "end_of_quarter": ("quarter", "3 months"),
        "end_of_year": ("year", "1 year"),
    }[pt.expiry_policy]
    return f"((date_trunc('{unit}', {shifted}) + interval '{period}') AT TIME ZONE %(tz)s)"


def maturity_sql(pt: PointTypeInfo, ts: str) -> str:
    return f"({ts} + interval '{pt.maturation_days * 24} hours')"


def case_sql(expr: str, mapping: dict[Any, Any], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN {key} THEN {value}" for key, value in mapping.items())
    return f"(CASE {expr} {whens} ELSE {default} END)"


def json_per_line(expr: str) -> str:
    """A reward's {"position": minor units} for 1-3 lines, `expr` giving a line's units from {c}."""
    one = f"'{{\"1\": ' || {expr.format(c='e.c1')}"
    two = f"{one} || ', \"2\": ' || {expr.format(c='e.c2')}"
    three = f"{two} || ', \"3\": ' || {expr.format(c='e.c3')}"
    return f"(CASE e.nl WHEN 1 THEN {one} WHEN 2 THEN {two} ELSE {three} END || '}}')::jsonb"


# One row per booking: what every table needs to know of it, in booking time order (`ev`).
EV_COLUMNS = {
    "rk": "smallint",  # 1 earn, 2 credit adjustment, 3 redemption, 4 debit adjustment, 5 expiry, 6 forfeit
    "src": "bigint",  # its row in the staging table of its kind
    "t": "timestamptz",
    "mid": "bigint",
    "g": "bigint",
    "sponsor_id": "bigint",
    "acc": "bigint",  # the member account it credits or debits
    "amount": "bigint",
    "lot_rk": "smallint",  # the lot it consumes or expires: its creating booking's kind and source...
    "lot_src": "bigint",
    "lot_pt": "bigint",  # ... and point type
    "lot_sponsor": "bigint",
    "x": "integer",  # which reason or reference
    "exp": "timestamptz",
    "acc_s": "bigint",  # the purchase's status points account...
    "ch": "integer",  # ... and all else of the purchase
    "pay": "integer",
    "tier_id": "bigint",
    "nl": "integer",
    "k1": "integer",
    "q1": "integer",
    "k2": "integer",
    "q2": "integer",
    "k3": "integer",
    "q3": "integer",
    "c1": "bigint",
    "c2": "bigint",
    "c3": "bigint",
    "base": "bigint",
    "bonus": "bigint",
    "st": "bigint",
    "mat": "timestamptz",
    "exp_s": "timestamptz",
    "npost": "integer",  # how many postings, lots, movements, transactions, lines and rewards it makes
    "nlot": "integer",
    "nmov": "integer",
    "ntx": "integer",
    "nlines": "integer",
    "nrew": "integer",
}
EV_COUNTS = {"npost", "nlot", "nmov", "ntx", "nlines", "nrew"}


def ev_part(source: str, **exprs: str) -> str:
    unknown = set(exprs) - set(EV_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of ev: {unknown}")
    default = {name: "0" if name in EV_COUNTS else "NULL" for name in EV_COLUMNS}
    items = [f"({exprs.get(name, default[name])})::{kind} AS {name}" for name, kind in EV_COLUMNS.items()]
    return f"SELECT {', '.join(items)} FROM {source}"


def slug(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace(" ", "")


# The loader ----------------------------------------------------------------------------------


class Loader:
    """Two database sessions that run the load's steps, one after the other or both at once."""

    def __init__(self, url: str, scale: Scale, config: Config, now: datetime) -> None:
        import psycopg

        self.conns = [psycopg.connect(url, cursor_factory=psycopg.ClientCursor) for _ in range(2)]
        self.scale = scale
        self.cfg = config
        self.now = now
        self.timings: list[tuple[str, float, int]] = []
        self.notes: list[str] = []
        self.params: dict[str, Any] = {}
        self.ids: dict[str, int] = {}
        self.lock = threading.Lock()

    # Running -----------------------------------------------------------------------------------

    def record(self, label: str, seconds: float, rows: int = 0) -> None:
        with self.lock:
            self.timings.append((label, seconds, rows))
            print(f"  {label:<56}{seconds:>8.1f} s{rows:>14,} rows", flush=True)

    def run(self, conn: Any, step: Step, tag: str = "") -> None:
        label, statements = step
        started = time.perf_counter()
        rows = 0
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement, self.params)
                if cur.rowcount > 0 and not statement.lstrip().startswith(("ANALYZE", "SET")):
                    rows += cur.rowcount
        if not conn.autocommit:
            conn.commit()
        self.record(f"{tag}{label}", time.perf_counter() - started, rows)

    def serial(self, *steps: Step) -> None:
        for step in steps:
            self.run(self.conns[0], step)

    def parallel(self, label: str, first: list[Step], second: list[Step]) -> None:
        """Both lists at once, each in its own session; then the wall clock time of the whole."""
        started = time.perf_counter()
        errors: list[BaseException] = []

        def work(index: int, steps: list[Step]) -> None:
            try:
                for step in steps:
                    if errors:
                        return
                    self.run(self.conns[index], step, tag=f"[{index + 1}] ")
            except BaseException as exc:  # re-raised below, after the other session has stopped
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i, steps)) for i, steps in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        self.record(f"= {label} (wall clock)", time.perf_counter() - started)

    def scalar(self, statement: str) -> Any:
        with self.conns[0].cursor() as cur:
            cur.execute(statement, self.params)
            value = cur.fetchone()[0]
        self.conns[0].commit()
        return value

    def close(self) -> None:
        for conn in self.conns:
            conn.close()

    # Set-up ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        cfg = self.cfg
        for index, conn in enumerate(self.conns):
            with conn.cursor() as cur:
                for setting in (
                    "SET session_replication_role = replica",
                    "SET synchronous_commit = off",
                    "SET work_mem = '1GB'",
                    "SET maintenance_work_mem = '1GB'",
                    "SET max_parallel_maintenance_workers = 0",
                    "SET enable_memoize = off",  # it would cache each LATERAL (VALUES ...) by its whole row
                    "SET TimeZone = 'UTC'",
                    f"SET search_path = {STAGE}, public",
                    f"SELECT setseed({0.2026 + index / 10})",
                ):
                    cur.execute(setting)
            conn.commit()
        self.conns[0].execute(f"DROP SCHEMA IF EXISTS {STAGE} CASCADE")
        self.conns[0].execute(f"CREATE SCHEMA {STAGE}")
        self.conns[0].commit()
        self.ids = {
            name: int(self.scalar(f"SELECT coalesce(max(id), 0) FROM public.{table}"))
            for name, table in {
                "m": "memberships_membership",
                "a": "ledger_account",
                "b": "ledger_booking",
                "p": "ledger_posting",
                "l": "ledger_lot",
                "mv": "ledger_lotmovement",
                "t": "loyalty_transaction",
                "tl": "loyalty_transactionline",
                "tr": "loyalty_transactionreward",
                "v": "vouchers_voucher",
                "c": "vouchers_conversion",
            }.items()
        }
        self.params = {
            "now": self.now,
            "tz": cfg.tz,
            "currency": cfg.currency,
            "forecast": timedelta(days=cfg.forecast_days),
            "empty_object": "{}",
            "empty_array": "[]",
            "first_names": FIRST_NAMES,
            "last_names": LAST_NAMES,
            "first_slugs": [slug(name) for name in FIRST_NAMES],
            "last_slugs": [slug(name) for name in LAST_NAMES],
            "cities": [city for city, _ in CITIES],
            "countries": [country for _, country in CITIES],
            "streets": STREETS,
            "cancel_reasons": CANCEL_REASONS,
            "credit_reasons": CREDIT_REASONS,
            "debit_reasons": DEBIT_REASONS,
            "redeem_references": REDEEM_REFERENCES,
            "ch_keys": [c["key"] for c in cfg.channels],
            "ch_sponsor": [c["sponsor"] for c in cfg.channels],
            "ch_offset": [c["offset"] for c in cfg.channels],
            "ch_count": [c["count"] for c in cfg.channels],
            "prices": [price for _, _, price, _ in cfg.products],
            "member_contexts": [f'{{"tier": "{key}", "type": "consumer", "status": "active"}}' for _, key in cfg.tiers],
            "tier_ids": [pk for pk, _ in cfg.tiers],
        }

    def sys_acc(self, kind: str, sponsor: str, point_type: str) -> str:
        """SQL for the system account of `kind` of a sponsor and a point type, both given as SQL."""
        by_type: dict[int, dict[int, int]] = {}
        for (k, sponsor_id, point_type_id), pk in self.cfg.system_accounts.items():
            if k == kind:
                by_type.setdefault(point_type_id, {})[sponsor_id] = pk
        return case_sql(point_type, {pt: case_sql(sponsor, sponsors) for pt, sponsors in by_type.items()})

    def member_acc(self, g: str, point_type: str) -> str:
        """A member's accounts are numbered by the member: 2g-1 the main point type, 2g the status."""
        return f"({self.ids['a']} + 2 * ({g}) - CASE WHEN {point_type} = {self.cfg.points.id} THEN 1 ELSE 0 END)"

    # Indexes -----------------------------------------------------------------------------------

    def drop_indexes(self) -> list[tuple[str, Step]]:
        """Drop the secondary indexes of the bulk tables, and their primary keys where no foreign key
        refers to them; return (table, step) to build each again (a constraint's index first, then
        the constraint on it: no long exclusive lock while the other session builds on that table)."""
        started = time.perf_counter()
        conn = self.conns[0]
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid), c.conname, pg_get_constraintdef(c.oid)
                  FROM pg_index AS x
                  JOIN pg_class AS t ON t.oid = x.indrelid
                  JOIN pg_class AS i ON i.oid = x.indexrelid
                  LEFT JOIN pg_constraint AS c
                    ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u')
                 WHERE t.relname::text = ANY(%(tables)s::text[]) AND t.relnamespace = 'public'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint AS f WHERE f.contype = 'f' AND f.conindid = x.indexrelid)
                 ORDER BY t.relname, i.relname
                """,
                {"tables": BULK_TABLES},
            )
            found = cur.fetchall()
            rebuild = []
            for table, index, definition, constraint, constraint_def in found:
                statements = [definition]
                if constraint:
                    cur.execute(f'ALTER TABLE public."{table}" DROP CONSTRAINT "{constraint}"')
                    kind = constraint_def.split("(")[0].strip()  # PRIMARY KEY or UNIQUE
                    statements.append(
                        f'ALTER TABLE public."{table}" ADD CONSTRAINT "{constraint}" {kind} USING INDEX "{index}"'
                    )
                else:
                    cur.execute(f'DROP INDEX public."{index}"')
                rebuild.append((table, (f"index {index}"[:56], statements)))
        conn.commit()
        self.record("drop indexes", time.perf_counter() - started, len(found))
        return rebuild

    def balanced(self, jobs: list[tuple[str, Step]], first: list[Step]) -> tuple[list[Step], list[Step]]:
        """Share (table, step) jobs between the two sessions, those of the biggest tables first, each
        to the less loaded one (cost: the table's size). `first` starts the first session: the member
        accounts, which sum the postings, then their indexes."""
        with self.conns[0].cursor() as cur:
            cur.execute(
                "SELECT relname::text, pg_relation_size(oid) FROM pg_class "
                "WHERE relname::text = ANY(%(tables)s::text[]) AND relnamespace = 'public'::regnamespace",
                {"tables": LOADED},
            )
            size = dict(cur.fetchall())
        self.conns[0].commit()
        queues: tuple[list[Step], list[Step]] = (list(first), [])
        load = [size.get("ledger_posting", 0) if first else 0, 0]  # the member accounts sum the postings
        for table, step in sorted(jobs, key=lambda job: -size.get(job[0], 0)):
            index = 0 if load[0] <= load[1] else 1
            queues[index].append(step)
            load[index] += size.get(table, 0)
        return queues

    # The load ----------------------------------------------------------------------------------

    def load(self) -> None:
        self.serial(self.products(), self.members_staging())
        per_second = self.scalar("SELECT sum(w * extract(epoch FROM end_at - enrolled_at)) FROM bm")
        rate = self.scale.purchases / float(per_second or 1)
        rebuild = self.drop_indexes()
        self.parallel("staging: purchases", [self.purchases(rate, 0)], [self.purchases(rate, 1)])
        self.parallel(
            "staging; memberships, vouchers",
            [self.credits(), self.consumptions(), self.expiries(), self.forfeits()],
            [self.memberships(), self.vouchers()],
        )
        self.serial(self.events())
        consumed = self.scalar("SELECT count(*) FROM bcl")
        wanted = self.scale.redemptions + self.scale.debits
        if consumed < wanted:
            self.notes.append(
                f"{consumed:,} redemptions and debit adjustments instead of {wanted:,}: one per member "
                "with a lot to take from"
            )
        self.parallel(
            "ledger, transactions",
            [self.bookings(), self.lots(), self.transactions(), self.lines()],
            [self.postings(), self.movements(), self.rewards()],
        )
        first = [self.accounts()] + [step for table, step in rebuild if table == "ledger_account"]
        others = [(table, step) for table, step in rebuild if table != "ledger_account"]
        for conn in self.conns:
            conn.autocommit = True
        try:
            started = time.perf_counter()
            self.parallel("member accounts, indexes", *self.balanced(others, first))
            self.serial(
                (
                    "sequences past the new ids",
                    [
                        f"SELECT setval(pg_get_serial_sequence('public.{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM public.{table}))"
                        for table in LOADED
                    ],
                ),
                ("drop the staging tables", [f"DROP SCHEMA {STAGE} CASCADE"]),
            )
            for conn in self.conns:
                conn.execute("RESET session_replication_role")
            vacuum = [(table, (f"VACUUM ANALYZE {table}", [f"VACUUM (ANALYZE) public.{table}"])) for table in LOADED]
            self.parallel("VACUUM ANALYZE", *self.balanced(vacuum, []))
            self.record("indexes, sequences, VACUUM ANALYZE", time.perf_counter() - started)
        finally:
            for conn in self.conns:
                conn.autocommit = False

    # Staging -----------------------------------------------------------------------------------

    def products(self) -> Step:
        products = self.cfg.products
        self.params["product_keys"] = [key for _, key, _, _ in products]
        self.params["product_facts"] = [json.dumps(facts) for _, _, _, facts in products]
        return (
            "staging: products",
            [
                """
                CREATE UNLOGGED TABLE bprod AS
                SELECT k::integer, p.key, (%(prices)s::numeric[])[k] AS price, p.facts::jsonb
                  FROM unnest(%(product_keys)s::text[], %(product_facts)s::text[]) WITH ORDINALITY AS p(key, facts, k)
                """,
                "ANALYZE bprod",
            ],
        )

    def members_staging(self) -> Step:
        """Memberships: numbers a permutation of the 9-digit bodies with their Luhn digit; enrolled
        over the period, more of them early; activity `w` exponential; cancelled and blocked ones
        active until `end_at`."""
        s, ids, tiers = self.scale, self.ids, self.cfg.tiers
        bronze, silver, gold = tiers[0][0], tiers[min(1, len(tiers) - 1)][0], tiers[-1][0]
        return (
            "staging: memberships",
            [
                f"""
                CREATE UNLOGGED TABLE bm AS
                WITH cand AS (
                    SELECT g, 100000000 + ((g + 7777) * 82451653) %% 900000000 AS body
                      FROM generate_series(1::bigint, {s.members} + 1000) AS g
                ), num AS (
                    SELECT g, body::text || {luhn_sql("body")} AS number FROM cand
                ), free AS (
                    SELECT number, row_number() OVER (ORDER BY g) AS rn FROM num
                     WHERE NOT EXISTS (SELECT 1 FROM public.memberships_membership AS x WHERE x.number = num.number)
                ), r AS (
                    SELECT rn, number, random() AS r_enrol, random() AS r_status, random() AS r_end,
                           random() AS r_w, random() AS r_reason
                      FROM free WHERE rn <= {s.members} OFFSET 0
                ), d AS (
                    SELECT rn, number, r_end, r_reason,
                           %(now)s::timestamptz - interval '1 day' - sqrt(r_enrol) * interval '{DAYS - 1} days'
                               AS enrolled_at,
                           CASE WHEN r_status < {CANCELLED} THEN 'cancelled'
                                WHEN r_status < {CANCELLED + BLOCKED} THEN 'blocked' ELSE 'active' END AS status,
                           -ln(1 - r_w) AS w
                      FROM r OFFSET 0
                )
                SELECT rn AS g, {ids["m"]} + rn AS id, number, enrolled_at, status,
                       CASE WHEN status = 'active' THEN %(now)s::timestamptz
                            ELSE enrolled_at + (%(now)s::timestamptz - enrolled_at) * (0.2 + 0.8 * r_end) END AS end_at,
                       w,
                       CASE WHEN w >= 3.0 THEN {gold} WHEN w >= 1.6 THEN {silver} ELSE {bronze} END AS tier_id,
                       1 + floor(r_reason * {len(CANCEL_REASONS)})::int AS cr
                  FROM d
                """,
                "ANALYZE bm",
                """
                CREATE UNLOGGED TABLE bp (
                    pid bigint, g bigint, mid bigint, status text, tier_id bigint, is_pick boolean,
                    end_at timestamptz, t timestamptz, ch integer, sponsor_id bigint, pay integer, nl integer,
                    k1 integer, q1 integer, k2 integer, q2 integer, k3 integer, q3 integer,
                    c1 bigint, c2 bigint, c3 bigint, base bigint, bonus bigint, st bigint,
                    mat_p timestamptz, exp_p timestamptz, exp_s timestamptz)
                """,
            ],
        )

    def memberships(self) -> Step:
        cfg = self.cfg
        return (
            "memberships_membership",
            [
                f"""
                INSERT INTO public.memberships_membership (
                    id, number, membership_type_id, status, tier_id, tier_below_since, legal_entity_id,
                    merged_into_id, enrolled_at, channel, sponsor_id, first_name, last_name, email, phone,
                    birth_date, street, postal_code, city, country, language, marketing_consent,
                    marketing_consent_at, marketing_consent_source, properties, claimed_at, blocked_at,
                    cancelled_at, cancel_reason, merged_at, created_at, updated_at)
                SELECT id, number, {cfg.consumer_type}, status, tier_id, NULL, NULL, NULL,
                       enrolled_at, (ARRAY['store', 'store', 'web', 'app'])[1 + floor(r1 * 4)::int], NULL,
                       (%(first_names)s::text[])[fi], (%(last_names)s::text[])[li],
                       (%(first_slugs)s::text[])[fi] || '.' || (%(last_slugs)s::text[])[li] || '.' || g
                           || '@example.com',
                       '+316' || (10000000 + floor(r2 * 90000000)::bigint),
                       date '1945-01-01' + floor(r3 * 22000)::int,
                       (%(streets)s::text[])[1 + floor(r4 * {len(STREETS)})::int] || ' ' || (1 + floor(r5 * 240)::int),
                       (1000 + floor(r6 * 9000)::int) || ' '
                           || chr(65 + floor(r7 * 26)::int) || chr(65 + floor(r8 * 26)::int),
                       (%(cities)s::text[])[ci], (%(countries)s::text[])[ci],
                       CASE WHEN r9 < 0.6 THEN 'nl' WHEN r9 < 0.85 THEN 'en' ELSE 'de' END,
                       r10 < 0.6, CASE WHEN r10 < 0.6 THEN enrolled_at END,
                       CASE WHEN r10 < 0.6 THEN 'sign-up form' ELSE '' END,
                       (ARRAY['{{"favoriteStore": "centre"}}', '{{"favoriteStore": "north"}}',
                              '{{"favoriteStore": "airport"}}']::jsonb[])[1 + floor(r11 * 3)::int],
                       NULL,
                       CASE WHEN status = 'blocked' THEN end_at END,
                       CASE WHEN status = 'cancelled' THEN end_at END,
                       CASE WHEN status = 'cancelled' THEN (%(cancel_reasons)s::text[])[cr] ELSE '' END,
                       NULL, enrolled_at,
                       CASE WHEN status = 'active' THEN enrolled_at ELSE end_at END
                  FROM (SELECT bm.*, 1 + floor(random() * {len(FIRST_NAMES)})::int AS fi,
                               1 + floor(random() * {len(LAST_NAMES)})::int AS li,
                               1 + floor(random() * {len(CITIES)})::int AS ci,
                               random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                               random() AS r6, random() AS r7, random() AS r8, random() AS r9, random() AS r10,
                               random() AS r11
                          FROM bm OFFSET 0) AS x
                """
            ],
        )

    def purchases(self, rate: float, part: int) -> Step:
        """Half of the purchases (the members g with g % 2 = part): per member a number in proportion
        to its activity and the time it was active; a local day in that time, a shop hour; the channel
        by weight, 1-3 lines of its products; points per cent, status points per euro and line, half
        again at the weekend; maturity and expiry by the point types' policies."""
        cfg = self.cfg
        weights = [c["weight"] for c in cfg.channels]
        edges = [sum(weights[: i + 1]) / sum(weights) for i in range(len(weights) - 1)]
        whens = " ".join(f"WHEN r_ch < {edge!r} THEN {i}" for i, edge in enumerate(edges, start=1))
        channel = f"CASE {whens} ELSE {len(weights)} END" if edges else "1"
        lines = [(1, "k1", "q1", "c1"), (2, "k2", "q2", "c2"), (3, "k3", "q3", "c3")]
        products = ", ".join(
            f"(%(ch_offset)s::int[])[ch] + 1 + floor(r{k} * (%(ch_count)s::int[])[ch])::int AS {k}"
            for _, k, _, _ in lines
        )
        quantities = ", ".join(f"1 + (r{q} > 0.5)::int + (r{q} > 0.8333)::int AS {q}" for _, _, q, _ in lines)
        cents = ", ".join(
            f"CASE WHEN nl >= {pos} THEN ((%(prices)s::numeric[])[{k}] * {q} * 100)::bigint ELSE 0 END AS {c}"
            for pos, k, q, c in lines
        )
        weekend = "extract(isodow FROM lt) IN (6, 7)" if "weekend-bonus" in cfg.versions else "false"
        return (
            f"staging: purchases, half {part + 1}",
            [
                f"""
                INSERT INTO bp
                WITH mm AS (
                    SELECT g, id AS mid, enrolled_at, end_at, status, tier_id,
                           enrolled_at AT TIME ZONE %(tz)s AS e_local, end_at AT TIME ZONE %(tz)s AS x_local,
                           floor(w * extract(epoch FROM end_at - enrolled_at) * {rate!r} + random())::int AS n
                      FROM bm WHERE g %% 2 = {part} OFFSET 0
                ), mp AS (
                    SELECT mm.*, 1 + floor(random() * greatest(n, 1))::int AS pick,
                           x_local::date - e_local::date + 1 AS days
                      FROM mm OFFSET 0
                ), raw AS (
                    SELECT mp.g, mp.mid, mp.enrolled_at, mp.end_at, mp.e_local, mp.x_local, mp.status, mp.tier_id,
                           mp.g * 16777216 + s.i AS pid, s.i = mp.pick AS is_pick,
                           mp.e_local::date + floor(random() * mp.days)::int + time '08:00'
                               + random() * interval '13 hours' AS lt0,
                           random() AS r_ch, random() AS r_nl, random() AS r_pay,
                           random() AS rk1, random() AS rk2, random() AS rk3,
                           random() AS rq1, random() AS rq2, random() AS rq3
                      FROM mp CROSS JOIN LATERAL generate_series(1, mp.n) AS s(i)
                    OFFSET 0
                ), timed AS (
                    SELECT raw.*,
                           least(greatest(lt0, e_local + interval '1 minute'), x_local - interval '1 minute') AS lt1,
                           {channel} AS ch, 1 + floor(r_nl * 3)::int AS nl,
                           CASE WHEN r_pay < 0.6 THEN 1 WHEN r_pay < 0.8 THEN 2 ELSE 3 END AS pay
                      FROM raw OFFSET 0
                ), zoned AS (
                    SELECT timed.*, lt1 AT TIME ZONE %(tz)s AS t0 FROM timed OFFSET 0
                ), clamped AS (
                    SELECT zoned.*,
                           least(greatest(t0, enrolled_at + interval '1 minute'), end_at - interval '1 minute') AS t
                      FROM zoned OFFSET 0
                ), lined AS (
                    SELECT clamped.*, CASE WHEN t = t0 THEN lt1 ELSE t AT TIME ZONE %(tz)s END AS lt,
                           {products}, {quantities}
                      FROM clamped OFFSET 0
                ), priced AS (
                    SELECT lined.*, {cents} FROM lined
                )
                SELECT pid, g, mid, status, tier_id, is_pick, end_at, t, ch, (%(ch_sponsor)s::bigint[])[ch], pay, nl,
                       k1, q1, k2, q2, k3, q3, c1, c2, c3, c1 + c2 + c3,
                       CASE WHEN {weekend} THEN (c1 + 1) / 2 + (c2 + 1) / 2 + (c3 + 1) / 2 ELSE 0 END,
                       (c1 + 50) / 100 + (c2 + 50) / 100 + (c3 + 50) / 100,
                       {maturity_sql(cfg.points, "t")}, {expiry_sql(cfg.points, "lt")}, {expiry_sql(cfg.status, "lt")}
                  FROM priced
                """
            ],
        )

    def credits(self) -> Step:
        """Credit adjustments: a new lot, matured at once, expiring by the policy."""
        s, cfg = self.scale, self.cfg
        other = next((pk for pk in cfg.sponsors if pk != cfg.default_sponsor), cfg.default_sponsor)
        return (
            "staging: credit adjustments",
            [
                "ANALYZE bp",
                f"""
                CREATE UNLOGGED TABLE ba AS
                SELECT row_number() OVER () AS aid, y.*, {expiry_sql(cfg.points, "(y.t AT TIME ZONE %(tz)s)")} AS exp
                  FROM (SELECT bm.g, bm.id AS mid, bm.status, bm.end_at,
                               bm.enrolled_at + r.r_t * (bm.end_at - bm.enrolled_at - interval '1 minute') AS t,
                               (5 + floor(r.r_amount * 46))::bigint * 100 AS amount,
                               CASE WHEN r.r_sponsor < 0.8 THEN {cfg.default_sponsor} ELSE {other} END AS sponsor_id,
                               1 + floor(r.r_reason * {len(CREDIT_REASONS)})::int AS reason
                          FROM (SELECT 1 + floor(random() * {s.members})::bigint AS g, random() AS r_t,
                                       random() AS r_amount, random() AS r_sponsor, random() AS r_reason
                                  FROM generate_series(1, {s.credits}) OFFSET 0) AS r
                          JOIN bm USING (g)) AS y
                """,
                "ANALYZE ba",
            ],
        )

    def consumptions(self) -> Step:
        """Redemptions, then debit adjustments: one per member, at a moment when a lot picked at random
        is matured and not expired; each takes part of the member's first-to-expire lot at that
        moment (expiry, maturity, then creation order), as ledger.services.take would."""
        s = self.scale
        redemptions = s.redemptions
        return (
            "staging: consumptions (first-to-expire lot)",
            [
                f"""
                CREATE UNLOGGED TABLE bc AS
                SELECT row_number() OVER () AS cid, c.*
                  FROM (SELECT ch.mid, ch.g, ch.mat_p + random() * (ch.until - ch.mat_p - interval '1 minute') AS t,
                               random() AS r_amount, random() AS r_sponsor, random() AS r_x
                          FROM (SELECT mid, g, mat_p, least(exp_p, end_at, %(now)s::timestamptz) AS until
                                  FROM bp
                                 WHERE is_pick
                                   AND mat_p < least(exp_p, end_at, %(now)s::timestamptz) - interval '1 hour'
                                 ORDER BY random() LIMIT {redemptions + s.debits}) AS ch
                        OFFSET 0) AS c
                """,
                "ANALYZE bc",
                f"""
                CREATE UNLOGGED TABLE bcl AS
                SELECT DISTINCT ON (c.cid) c.cid, c.mid, c.g, c.t, c.r_sponsor, c.r_x,
                       CASE WHEN c.cid <= {redemptions} THEN 3 ELSE 4 END AS rk,
                       l.lot_rk, l.lot_src, l.sponsor_id AS lot_sponsor,
                       greatest(1, CASE WHEN a.raw >= 100 THEN a.raw - a.raw %% 100 ELSE a.raw END) AS amount
                  FROM bc AS c
                  JOIN (SELECT 1 AS lot_rk, pid AS lot_src, mid, t AS created, mat_p AS mat, exp_p AS exp,
                               base + bonus AS original, sponsor_id FROM bp
                        UNION ALL
                        SELECT 2, aid, mid, t, t, exp, amount, sponsor_id FROM ba) AS l
                    ON l.mid = c.mid AND l.created <= c.t AND l.mat <= c.t AND (l.exp IS NULL OR l.exp > c.t)
                 CROSS JOIN LATERAL (
                        SELECT floor(l.original * CASE WHEN c.cid <= {redemptions} THEN 0.2 + 0.8 * c.r_amount
                                                       ELSE 0.1 + 0.4 * c.r_amount END)::bigint AS raw) AS a
                 ORDER BY c.cid, l.exp NULLS LAST, l.mat, l.created, l.lot_rk, l.lot_src
                """,
                "ANALYZE bcl",
            ],
        )

    def lots_left(self) -> str:
        """Every lot with what the consumptions left of it."""
        pts, sts = self.cfg.points, self.cfg.status
        return f"""
            SELECT 1 AS lot_rk, p.pid AS lot_src, {pts.id} AS lot_pt, p.mid, p.g, p.status, p.end_at, p.sponsor_id,
                   p.exp_p AS exp, p.base + p.bonus - coalesce(u.amount, 0) AS remaining
              FROM bp AS p LEFT JOIN bcl AS u ON u.lot_rk = 1 AND u.lot_src = p.pid
            UNION ALL
            SELECT 1, p.pid, {sts.id}, p.mid, p.g, p.status, p.end_at, p.sponsor_id, p.exp_s, p.st
              FROM bp AS p WHERE p.st > 0
            UNION ALL
            SELECT 2, a.aid, {pts.id}, a.mid, a.g, a.status, a.end_at, a.sponsor_id, a.exp,
                   a.amount - coalesce(u.amount, 0)
              FROM ba AS a LEFT JOIN bcl AS u ON u.lot_rk = 2 AND u.lot_src = a.aid
        """

    def expiries(self) -> Step:
        """Lots past their expiry with points left, expired by the nightly job (within 6 hours); not
        those a cancellation forfeited first."""
        return (
            "staging: expiries",
            [
                f"""
                CREATE UNLOGGED TABLE be AS
                SELECT row_number() OVER () AS eid, y.*
                  FROM (SELECT * FROM (SELECT l.*, l.exp + random() * interval '6 hours' AS te
                                         FROM ({self.lots_left()}) AS l
                                        WHERE l.exp < %(now)s::timestamptz - interval '6 hours' AND l.remaining > 0
                                       OFFSET 0) AS z
                         WHERE z.status <> 'cancelled' OR z.te < z.end_at
                         ORDER BY random() LIMIT {self.scale.expiries}) AS y
                """,
                "ANALYZE be",
            ],
        )

    def forfeits(self) -> Step:
        """What a cancelled membership still holds goes back to the issuers at its cancellation."""
        pts = self.cfg.points
        return (
            "staging: forfeits, lot usage",
            [
                f"""
                CREATE UNLOGGED TABLE bfl AS
                SELECT l.lot_rk, l.lot_src, l.lot_pt, l.mid, l.g, l.sponsor_id AS lot_sponsor, l.remaining,
                       l.end_at AS t
                  FROM ({self.lots_left()}) AS l
                  LEFT JOIN be AS e ON e.lot_rk = l.lot_rk AND e.lot_src = l.lot_src AND e.lot_pt = l.lot_pt
                 WHERE l.status = 'cancelled' AND l.remaining > 0 AND e.eid IS NULL
                """,
                """
                CREATE UNLOGGED TABLE bf AS
                SELECT row_number() OVER () AS fid, f.*
                  FROM (SELECT mid, g, t, count(*) AS nmov,
                               count(DISTINCT lot_pt) + count(DISTINCT (lot_sponsor, lot_pt)) AS npost
                          FROM bfl GROUP BY mid, g, t) AS f
                """,
                f"""
                CREATE UNLOGGED TABLE bused AS
                SELECT lot_rk, lot_src, lot_pt, sum(consumed) AS consumed, sum(ended) AS ended, max(state) AS state
                  FROM (SELECT lot_rk, lot_src, {pts.id} AS lot_pt, amount AS consumed, 0 AS ended, NULL AS state
                          FROM bcl
                        UNION ALL SELECT lot_rk, lot_src, lot_pt, 0, remaining, 'expired' FROM be
                        UNION ALL SELECT lot_rk, lot_src, lot_pt, 0, remaining, 'closed' FROM bfl) AS u
                 GROUP BY lot_rk, lot_src, lot_pt
                """,
                "ANALYZE bfl",
                "ANALYZE bf",
                "ANALYZE bused",
            ],
        )

    def events(self) -> Step:
        """Every booking in time order: its id, and the first ids of its postings, lots, movements,
        transaction, lines and rewards (running sums); then the lot each consumption or expiry takes."""
        cfg, ids = self.cfg, self.ids
        pts, sts = cfg.points, cfg.status
        nw = cfg.default_sponsor
        other = next((pk for pk in cfg.sponsors if pk != nw), nw)
        acc_p, acc_s = self.member_acc("g", str(pts.id)), self.member_acc("g", str(sts.id))
        earn = {name: name for name in ["ch", "pay", "tier_id", "nl", "k1", "q1", "k2", "q2", "k3", "q3"]}
        earn |= {name: name for name in ["c1", "c2", "c3", "base", "bonus", "st", "exp_s"]}
        reasons = f"CASE WHEN rk = 3 THEN {len(REDEEM_REFERENCES)} ELSE {len(DEBIT_REASONS)} END"
        parts = [
            ev_part(
                "bp", rk="1", src="pid", t="t", mid="mid", g="g", sponsor_id="sponsor_id", acc=acc_p,
                amount="base + bonus", exp="exp_p", acc_s=acc_s, mat="mat_p", npost="2 + 2 * (st > 0)::int",
                nlot="1 + (st > 0)::int", nmov="1 + (st > 0)::int", ntx="1", nlines="nl",
                nrew="1 + (bonus > 0)::int + (st > 0)::int", **earn,
            ),
            ev_part(
                "ba", rk="2", src="aid", t="t", mid="mid", g="g", sponsor_id="sponsor_id", acc=acc_p,
                amount="amount", x="reason", exp="exp", mat="t", npost="2", nlot="1", nmov="1",
            ),
            ev_part(
                "bcl", rk="rk", src="cid", t="t", mid="mid", g="g",
                sponsor_id=f"CASE WHEN r_sponsor < 0.85 THEN {nw} ELSE {other} END", acc=acc_p, amount="amount",
                lot_rk="lot_rk", lot_src="lot_src", lot_pt=str(pts.id), lot_sponsor="lot_sponsor",
                x=f"1 + floor(r_x * {reasons})::int", npost="2", nmov="1",
            ),
            ev_part(
                "be", rk="5", src="eid", t="te", mid="mid", g="g", sponsor_id="sponsor_id",
                acc=self.member_acc("g", "lot_pt"), amount="remaining", lot_rk="lot_rk", lot_src="lot_src",
                lot_pt="lot_pt", lot_sponsor="sponsor_id", npost="2", nmov="1",
            ),
            ev_part(
                "bf JOIN bm USING (g)", rk="6", src="fid", t="t", mid="mid", g="g", sponsor_id=str(nw), x="bm.cr",
                npost="npost", nmov="bf.nmov",
            ),
        ]  # fmt: skip
        counts = [("npost", "post"), ("nlot", "lot"), ("nmov", "mov"), ("ntx", "tx"), ("nlines", "line")]
        offsets = ", ".join(f"sum({n}) OVER w - {n} AS {name}_off" for n, name in [*counts, ("nrew", "rew")])
        return (
            "staging: bookings in time order",
            [
                "SET LOCAL work_mem = '3GB'",
                f"""
                CREATE UNLOGGED TABLE ev AS
                SELECT u.*, row_number() OVER w AS seq, {offsets}
                  FROM ({" UNION ALL ".join(parts)}) AS u
                WINDOW w AS (ORDER BY t, rk, src ROWS UNBOUNDED PRECEDING)
                """,
                "ANALYZE ev",
                f"""
                CREATE UNLOGGED TABLE bref AS
                SELECT e.seq, {ids["l"]} + l.lot_off + CASE WHEN e.lot_pt = {pts.id} THEN 1 ELSE 2 END AS lot_id
                  FROM ev AS e JOIN ev AS l ON l.rk = e.lot_rk AND l.src = e.lot_src
                 WHERE e.rk IN (3, 4, 5)
                """,
                "ANALYZE bref",
            ],
        )

    # The app's tables --------------------------------------------------------------------------

    def tx_id(self) -> str:
        return "'BD' || lpad((e.tx_off + 1)::text, 10, '0')"

    def bookings(self) -> Step:
        pts, sts, ids = self.cfg.points, self.cfg.status, self.ids
        receipt = (
            "'R' || "
            + code_sql(permuted_sql("e.src", 32**4), RECEIPT_ALPHABET, 4)
            + " || "
            + code_sql(permuted_sql("e.src + 12345", 32**12), RECEIPT_ALPHABET, 12)
        )
        line = '{"amount": %s, "line_ref": "%s", "point_type": %s}'
        metadata = (
            f"""format('{{"lines": [{line.replace("%s", "%%s")}'"""
            f""" || CASE WHEN e.bonus > 0 THEN ', {line.replace("%s", "%%s")}' ELSE '%%s%%s%%s' END"""
            f""" || ', {line.replace("%s", "%%s")}], "channel": "%%s"}}',"""
            f" e.base, 'base-earning:v1', {pts.id},"
            f" CASE WHEN e.bonus > 0 THEN e.bonus::text ELSE '' END,"
            f" CASE WHEN e.bonus > 0 THEN 'weekend-bonus:v1' ELSE '' END,"
            f" CASE WHEN e.bonus > 0 THEN '{pts.id}' ELSE '' END,"
            f" e.st, 'status-earning:v1', {sts.id}, (%(ch_keys)s::text[])[e.ch])::jsonb"
        )
        return (
            "ledger_booking",
            [
                f"""
                INSERT INTO public.ledger_booking (id, kind, sponsor_id, membership_id, idempotency_key, request_hash,
                    receipt_id, tx_id, reverses_id, line_ref, reason, reference, actor_label, metadata, created_at,
                    effective_at)
                SELECT {ids["b"]} + e.seq,
                       (ARRAY['earn', 'adjust', 'redeem', 'adjust', 'expire', 'forfeit'])[e.rk],
                       e.sponsor_id, e.mid,
                       CASE WHEN e.rk = 5 THEN 'expire:' || r.lot_id ELSE '' END,
                       CASE WHEN e.rk <= 4 THEN md5(e.rk || ':' || e.src) || md5(e.src || ':' || e.rk) ELSE '' END,
                       CASE e.rk WHEN 1 THEN {self.tx_id()} WHEN 3 THEN {receipt} ELSE '' END,
                       CASE WHEN e.rk = 1 THEN {self.tx_id()} ELSE '' END,
                       NULL, '',
                       CASE e.rk WHEN 2 THEN (%(credit_reasons)s::text[])[e.x]
                                 WHEN 4 THEN (%(debit_reasons)s::text[])[e.x]
                                 WHEN 6 THEN (%(cancel_reasons)s::text[])[e.x] ELSE '' END,
                       CASE WHEN e.rk = 3 THEN (%(redeem_references)s::text[])[e.x] ELSE '' END,
                       CASE e.rk WHEN 1 THEN 'client:' || (%(ch_keys)s::text[])[e.ch] WHEN 3 THEN 'client:member-app'
                                 WHEN 5 THEN 'system:expire_points' ELSE 'user:service-desk' END,
                       CASE WHEN e.rk = 1 THEN {metadata} ELSE %(empty_object)s::jsonb END,
                       e.t, e.t
                  FROM ev AS e LEFT JOIN bref AS r ON r.seq = e.seq
                """
            ],
        )

    def postings(self) -> Step:
        """Postings 1 and 2 are -amount and +amount for every kind but the forfeit; an earn adds its
        status points as 3 and 4. A forfeit debits each member account and credits the forfeited
        account of each issuer."""
        pts, sts, ids = self.cfg.points, self.cfg.status, self.ids
        adjusted = self.sys_acc("adjusted", "e.sponsor_id", str(pts.id))
        first = case_sql("e.rk", {1: self.sys_acc("issued", "e.sponsor_id", str(pts.id)), 2: adjusted}, "e.acc")
        second = case_sql(
            "e.rk",
            {
                1: "e.acc",
                2: "e.acc",
                3: self.sys_acc("redeemed", "e.lot_sponsor", str(pts.id)),
                4: self.sys_acc("adjusted", "e.lot_sponsor", str(pts.id)),
                5: self.sys_acc("expired", "e.lot_sponsor", "e.lot_pt"),
            },
        )
        issued_s = self.sys_acc("issued", "e.sponsor_id", str(sts.id))
        forfeited = self.sys_acc("forfeited", "l.lot_sponsor", "l.lot_pt")
        return (
            "ledger_posting",
            [
                f"""
                INSERT INTO public.ledger_posting (id, booking_id, account_id, amount)
                SELECT {ids["p"]} + e.post_off + v.k, {ids["b"]} + e.seq, v.account_id, v.amount
                  FROM ev AS e
                 CROSS JOIN LATERAL (VALUES (1, {first}, -e.amount), (2, {second}, e.amount),
                                            (3, {issued_s}, -e.st), (4, e.acc_s, e.st)) AS v(k, account_id, amount)
                 WHERE e.rk <> 6 AND v.k <= e.npost
                """,
                f"""
                INSERT INTO public.ledger_posting (id, booking_id, account_id, amount)
                SELECT {ids["p"]} + p.post_off + row_number() OVER (PARTITION BY p.seq ORDER BY p.ord, p.account_id),
                       {ids["b"]} + p.seq, p.account_id, p.amount
                  FROM (SELECT e.seq, e.post_off, 0 AS ord, {self.member_acc("e.g", "l.lot_pt")} AS account_id,
                               -sum(l.remaining) AS amount
                          FROM ev AS e JOIN bfl AS l ON l.mid = e.mid WHERE e.rk = 6
                         GROUP BY 1, 2, 3, 4
                        UNION ALL
                        SELECT e.seq, e.post_off, 1, {forfeited}, sum(l.remaining)
                          FROM ev AS e JOIN bfl AS l ON l.mid = e.mid WHERE e.rk = 6
                         GROUP BY 1, 2, 3, 4) AS p
                """,
            ],
        )

    def lots(self) -> Step:
        pts, sts, ids = self.cfg.points, self.cfg.status, self.ids
        line_ref = "CASE WHEN e.rk = 1 AND e.bonus = 0 THEN 'base-earning:v1' ELSE '' END"
        return (
            "ledger_lot",
            [
                f"""
                INSERT INTO public.ledger_lot (id, account_id, booking_id, sponsor_id, line_ref, original, remaining,
                    matures_at, expires_at, state, maturity_notified, expiry_notified, created_at)
                SELECT {ids["l"]} + e.lot_off + v.k, v.account_id, {ids["b"]} + e.seq, e.sponsor_id, v.line_ref,
                       v.original, v.original - coalesce(u.consumed + u.ended, 0), v.mat, v.exp,
                       coalesce(u.state, 'active'),
                       v.mat <= %(now)s::timestamptz AND v.mat > e.t,
                       coalesce(v.exp <= %(now)s::timestamptz + %(forecast)s::interval
                                AND v.original > coalesce(u.consumed, 0), false),
                       e.t
                  FROM ev AS e
                 CROSS JOIN LATERAL (VALUES (1, {pts.id}, e.acc, {line_ref}, e.amount, e.mat, e.exp),
                                            (2, {sts.id}, e.acc_s, 'status-earning:v1', e.st, e.t, e.exp_s))
                       AS v(k, pt, account_id, line_ref, original, mat, exp)
                  LEFT JOIN bused AS u ON u.lot_rk = e.rk AND u.lot_src = e.src AND u.lot_pt = v.pt
                 WHERE e.rk IN (1, 2) AND v.k <= e.nlot
                """
            ],
        )

    def movements(self) -> Step:
        pts, ids = self.cfg.points, self.ids
        return (
            "ledger_lotmovement",
            [
                f"""
                INSERT INTO public.ledger_lotmovement (id, lot_id, booking_id, amount)
                SELECT {ids["mv"]} + e.mov_off + v.k, v.lot_id, {ids["b"]} + e.seq, v.amount
                  FROM ev AS e LEFT JOIN bref AS r ON r.seq = e.seq
                 CROSS JOIN LATERAL (VALUES
                       (1, CASE WHEN e.rk <= 2 THEN {ids["l"]} + e.lot_off + 1 ELSE r.lot_id END,
                           CASE WHEN e.rk <= 2 THEN e.amount ELSE -e.amount END),
                       (2, {ids["l"]} + e.lot_off + 2, e.st)) AS v(k, lot_id, amount)
                 WHERE e.rk <> 6 AND v.k <= e.nmov
                """,
                f"""
                INSERT INTO public.ledger_lotmovement (id, lot_id, booking_id, amount)
                SELECT {ids["mv"]} + f.mov_off + row_number() OVER (PARTITION BY f.seq ORDER BY f.lot_id),
                       f.lot_id, {ids["b"]} + f.seq, -f.remaining
                  FROM (SELECT e.seq, e.mov_off, l.remaining,
                               {ids["l"]} + o.lot_off + CASE WHEN l.lot_pt = {pts.id} THEN 1 ELSE 2 END AS lot_id
                          FROM ev AS e JOIN bfl AS l ON l.mid = e.mid
                          JOIN ev AS o ON o.rk = l.lot_rk AND o.src = l.lot_src
                         WHERE e.rk = 6) AS f
                """,
            ],
        )

    def transactions(self) -> Step:
        ids = self.ids
        return (
            "loyalty_transaction",
            [
                f"""
                INSERT INTO public.loyalty_transaction (id, tx_id, receipt_id, membership_id, sponsor_id, channel,
                    occurred_at, total_amount, currency, payment_method, properties, status, request_hash, response,
                    booking_id, member_context, cap_usage, created_at)
                SELECT {ids["t"]} + e.tx_off + 1, {self.tx_id()}, {self.tx_id()}, e.mid, e.sponsor_id,
                       (%(ch_keys)s::text[])[e.ch], e.t, e.base::numeric / 100, %(currency)s,
                       (ARRAY['card', 'cash', 'mobile'])[e.pay], %(empty_object)s::jsonb, 'booked',
                       md5('tx:' || e.src) || md5(e.src || ':tx'), NULL, {ids["b"]} + e.seq,
                       (%(member_contexts)s::jsonb[])[array_position(%(tier_ids)s::bigint[], e.tier_id)],
                       %(empty_object)s::jsonb, e.t
                  FROM ev AS e WHERE e.rk = 1
                """
            ],
        )

    def lines(self) -> Step:
        ids = self.ids
        return (
            "loyalty_transactionline",
            [
                f"""
                INSERT INTO public.loyalty_transactionline (id, transaction_id, position, product_key, quantity,
                    unit_price, amount, returned_quantity, known, facts)
                SELECT {ids["tl"]} + e.line_off + v.pos, {ids["t"]} + e.tx_off + 1, v.pos, p.key, v.q, p.price,
                       p.price * v.q, 0, true, p.facts
                  FROM ev AS e
                 CROSS JOIN LATERAL (VALUES (1, e.k1, e.q1), (2, e.k2, e.q2), (3, e.k3, e.q3)) AS v(pos, k, q)
                  JOIN bprod AS p ON p.k = v.k
                 WHERE e.rk = 1 AND v.pos <= e.nl
                """
            ],
        )

    def rewards(self) -> Step:
        cfg, ids = self.cfg, self.ids
        versions = cfg.versions
        bonus_version = versions.get("weekend-bonus", versions["base-earning"])
        base, bonus, status = json_per_line("{c}"), json_per_line("({c} + 1) / 2"), json_per_line("({c} + 50) / 100")
        return (
            "loyalty_transactionreward",
            [
                f"""
                INSERT INTO public.loyalty_transactionreward (id, transaction_id, promotion_version_id, promotion_key,
                    point_type, amount, lines, trace, capped, vouchers)
                SELECT {ids["tr"]} + e.rew_off + v.j, {ids["t"]} + e.tx_off + 1, v.version, v.promotion, v.point_type,
                       v.amount, v.lines, %(empty_array)s::jsonb, NULL, %(empty_array)s::jsonb
                  FROM ev AS e
                 CROSS JOIN LATERAL (VALUES
                       (1, {versions["base-earning"]}, 'base-earning', '{cfg.points.key}', e.base, {base}),
                       (2, {bonus_version}, 'weekend-bonus', '{cfg.points.key}', e.bonus, {bonus}),
                       (2 + (e.bonus > 0)::int, {versions["status-earning"]}, 'status-earning', '{cfg.status.key}',
                        e.st, {status})) AS v(j, version, promotion, point_type, amount, lines)
                 WHERE e.rk = 1 AND v.amount > 0
                """
            ],
        )

    def accounts(self) -> Step:
        """The member accounts, each with the sum of its postings as balance."""
        cfg, ids = self.cfg, self.ids
        return (
            "ledger_account (balance: the sum of its postings)",
            [
                f"""
                INSERT INTO public.ledger_account (id, kind, point_type_id, membership_id, sponsor_id, balance,
                    created_at)
                SELECT a.id, 'member', a.point_type_id, a.membership_id, NULL, coalesce(s.balance, 0), a.created_at
                  FROM (SELECT {self.member_acc("g", str(cfg.points.id))} AS id, {cfg.points.id} AS point_type_id,
                               id AS membership_id, enrolled_at AS created_at FROM bm
                        UNION ALL
                        SELECT {self.member_acc("g", str(cfg.status.id))}, {cfg.status.id}, id, enrolled_at FROM bm)
                       AS a
                  LEFT JOIN (SELECT account_id, sum(amount) AS balance FROM public.ledger_posting
                              WHERE account_id > {ids["a"]} GROUP BY account_id) AS s ON s.account_id = a.id
                 ORDER BY a.id
                """
            ],
        )

    def vouchers(self) -> Step:
        """Welcome vouchers soon after enrolment, 10%-off vouchers by mailing; 30% converted within
        their validity while the member was active, the others expired once past their end."""
        cfg, ids, s = self.cfg, self.ids, self.scale
        types = cfg.voucher_types
        if not types:
            self.notes.append("the demo has no welcome or ten-percent-off voucher type: no vouchers")
            return ("vouchers (none)", [])
        share = s.vouchers // len(types)
        parts = []
        for index, vt in enumerate(types):
            count = share if index < len(types) - 1 else s.vouchers - share * (len(types) - 1)
            if vt["key"] == "welcome":
                issued = "m.enrolled_at + m.r_issue * least(interval '2 days', m.end_at - m.enrolled_at)"
                source, reference, actor = "'promotion:welcome'", "'BD-WELCOME-' || number", "'client:webshop'"
            else:
                issued = "m.enrolled_at + m.r_issue * (m.end_at - m.enrolled_at)"
                source, actor = "'admin'", "'user:marketing'"
                reference = "'mailing ' || to_char(issued_at AT TIME ZONE %(tz)s, 'YYYY-MM')"
            parts.append(
                f"""
                SELECT {vt["id"]} AS type_id, {index} AS type_index, mid, end_at, issued_at,
                       interval '{vt["valid_days"] * 24} hours' AS valid, {vt["uses"]} AS uses,
                       {source} AS source, {reference} AS reference, {actor} AS actor, r_conv, r_when, r_ch
                  FROM (SELECT m.id AS mid, m.number, m.end_at, {issued} AS issued_at, m.r_conv, m.r_when, m.r_ch
                          FROM (SELECT bm.*, random() AS r_issue, random() AS r_conv, random() AS r_when,
                                       random() AS r_ch
                                  FROM (SELECT * FROM bm ORDER BY random() LIMIT {count}) AS bm OFFSET 0) AS m
                       ) AS i
                """
            )
        tokens = " ".join(
            f"WHEN {index} THEN '{vt['prefix']}' || "
            + code_sql(
                permuted_sql("v.vn", min(len(vt["alphabet"]) ** vt["length"], 2**62)), vt["alphabet"], vt["length"]
            )
            + f" || '{vt['suffix']}'"
            for index, vt in enumerate(types)
        )
        expired_at = "least(v.issued_at + v.valid + v.r_when * interval '6 hours', %(now)s::timestamptz)"
        past = "v.issued_at + v.valid <= %(now)s::timestamptz"
        return (
            "vouchers_voucher, vouchers_conversion",
            [
                f"""
                CREATE UNLOGGED TABLE bv AS
                SELECT row_number() OVER (ORDER BY issued_at) AS vn, w.*,
                       CASE WHEN w.r_conv < 0.3 AND w.conv_until > w.issued_at + interval '1 minute'
                            THEN w.issued_at + w.r_when * (w.conv_until - w.issued_at) END AS converted_at
                  FROM (SELECT u.*, least(u.issued_at + u.valid, u.end_at, %(now)s::timestamptz) AS conv_until
                          FROM ({" UNION ALL ".join(parts)}) AS u) AS w
                """,
                f"""
                INSERT INTO public.vouchers_voucher (id, token, voucher_type_id, recipient_id, batch_id, status,
                    uses_total, uses_left, valid_from, valid_until, issued_at, source, reference, actor_label,
                    points_paid, point_type_id, receipt_id, refund_receipt_id, revoked_at, revoke_reason, expired_at,
                    updated_at)
                SELECT {ids["v"]} + v.vn, CASE v.type_index {tokens} END, v.type_id, v.mid, NULL,
                       CASE WHEN v.converted_at IS NOT NULL THEN 'converted' WHEN {past} THEN 'expired'
                            ELSE 'issued' END,
                       v.uses, CASE WHEN v.converted_at IS NOT NULL THEN 0 ELSE v.uses END,
                       v.issued_at, v.issued_at + v.valid, v.issued_at, v.source, v.reference, v.actor, 0,
                       NULL, '', '', NULL, '',
                       CASE WHEN v.converted_at IS NULL AND {past} THEN {expired_at} END,
                       coalesce(v.converted_at, CASE WHEN {past} THEN {expired_at} END, v.issued_at)
                  FROM bv AS v
                 ORDER BY v.vn
                """,
                f"""
                INSERT INTO public.vouchers_conversion (id, voucher_id, converted_at, membership_id, channel,
                    reference, actor_label)
                SELECT {ids["c"]} + row_number() OVER (ORDER BY v.converted_at, v.vn), {ids["v"]} + v.vn,
                       v.converted_at, v.mid, c.key, '', 'client:' || c.key
                  FROM bv AS v
                 CROSS JOIN LATERAL (SELECT (%(ch_keys)s::text[])[1 + floor(v.r_ch * {len(cfg.channels)})::int] AS key)
                       AS c
                 WHERE v.converted_at IS NOT NULL
                """,
                """
                UPDATE public.vouchers_voucherstock AS s SET issued = s.issued + n.count
                  FROM (SELECT type_id, count(*) AS count FROM bv GROUP BY type_id) AS n
                 WHERE s.voucher_type_id = n.type_id
                """,
            ],
        )

    # Counting ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        conn = self.conns[0]
        found: dict[str, int] = {}
        with conn.cursor() as cur:
            for table in LOADED:
                cur.execute(f"SELECT count(*) FROM public.{table}")
                found[table] = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM public.ledger_account WHERE kind = 'member'")
            found["ledger_account member"] = cur.fetchone()[0]
            cur.execute("SELECT kind, count(*) FROM public.ledger_booking GROUP BY kind ORDER BY kind")
            for kind, count in cur.fetchall():
                found[f"ledger_booking {kind}"] = count
        conn.commit()
        return found


# Entry points --------------------------------------------------------------------------------


def ensure_data(
    url: str, *, members: int = 1_000_000, bookings: int = 5_000_000, reset: bool = False
) -> dict[str, int]:
    """Make the benchmark database of `url` hold the data set of this scale, generated once; return
    its row counts (per table, member accounts, bookings per kind).

    A database already holding this scale is only migrated. One holding another scale, an
    unfinished load or anything else is dropped and built again (its name must contain "bench").
    """
    name = database_name(url)
    created = create_database(url, drop=reset)
    info = None if created else read_info(url)
    if info and info.get("complete") and (info["members"], info["bookings"]) == (members, bookings):
        setup_django(url)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        connections.close_all()
        print(f"{name}: the data set of {info['generated_at']} ({members:,} members, {bookings:,} bookings)")
        return dict(info["counts"])
    if not created:
        why = "an unfinished load" if info else "no data set of this script"
        if info and info.get("complete"):
            why = f"another scale ({info['members']:,} members, {info['bookings']:,} bookings)"
        print(f"{name} holds {why}: dropping it and building it again")
        create_database(url, drop=True)
    return generate(url, Scale(members, bookings))


def generate(url: str, scale: Scale) -> dict[str, int]:
    """Migrate, seed the demo, load the data set; the database is fresh."""
    setup_django(url)
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    print(f"generating {scale.members:,} members and about {scale.bookings:,} bookings in {database_name(url)}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    call_command("seed_demo", verbosity=0)
    config = read_config()
    seeded = time.perf_counter()
    connections.close_all()

    loader = Loader(url, scale, config, timezone.now().replace(microsecond=0))
    try:
        loader.record("migrate", migrated - started)
        loader.record("seed_demo, system accounts", seeded - migrated)
        write_info(loader.conns[0], {"complete": False, "members": scale.members, "bookings": scale.bookings})
        loader.prepare()
        loader.load()
        counts = loader.counts()
        total = time.perf_counter() - started
        loader.record("total", total)
        write_info(
            loader.conns[0],
            {
                "complete": True,
                "members": scale.members,
                "bookings": scale.bookings,
                "now": loader.now.isoformat(),
                "generated_at": timezone.now().isoformat(timespec="seconds"),
                "seconds": round(total, 1),
                "timings": [[label, round(seconds, 2), rows] for label, seconds, rows in loader.timings],
                "notes": loader.notes,
                "counts": list(counts.items()),  # a list: a jsonb object would not keep the order
            },
        )
    finally:
        loader.close()
    for note in loader.notes:
        print(f"note: {note}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="memberships (default 1,000,000)")
    parser.add_argument("--bookings", type=int, default=5_000_000, help="ledger bookings, about (default 5,000,000)")
    parser.add_argument("--reset", action="store_true", help="drop the database and build it again")
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        url = os.environ.get("DATABASE_URL", "")
        counts = ensure_data(url, members=args.members, bookings=args.bookings, reset=args.reset)
    except ValueError as exc:
        sys.exit(str(exc))
    print(f"\n{'rows':<40}{'count':>14}")
    for table, count in counts.items():
        print(f"{table:<40}{count:>14,}")
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
