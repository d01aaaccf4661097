"""Benchmark: the rules engine on a 20-line transaction against 200 active promotions.

    .venv/bin/python bench/engine.py [--runs 5000] [--promotions 200] [--lines 20] [--mix program|broad] [--profile]

Pure Python, no database: it builds 200 varied promotions, validates and compiles them once (timed),
then times `evaluate` over a few thousand runs and prints p50, p95 and p99 of the wall time, and the
same of the CPU time of the thread (which a busy machine does not inflate). Target: p50 under 2 ms.

Two mixes of promotions:

- `program` (the default): shaped like a real program's active set. Category and brand promotions
  (line scopes over 24 departments and 30 brands: multipliers, perAmount, perItem), basket thresholds,
  member promotions (birthday, welcome, newsletter), product and custom-category promotions, vouchers;
  a third limited in time (date windows, weekdays, hours, own time zone), many scoped to some of 12
  channels or to tiers; caps per transaction, per member and budgets with usage; a few exclusive and
  stop promotions; the base promotion. A typical transaction matches a part of them.
- `broad`: a stress mix in which most promotions match the transaction (about 85 of 200 give a reward),
  so nearly every reward is computed and attributed over 20 lines.

`--profile` prints a cProfile summary instead of the timings.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/engine.py: keep its folder off the import path so it never shadows a module.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from promotions.engine import CapUsage, compile_promotion, evaluate  # noqa: E402
from promotions.rules import Line, Member, Tx, validate_definition  # noqa: E402

DEPARTMENTS = ["coffee", "tea", "bakery", "dairy", "fruit", "snacks", "drinks", "household"]
BRANDS = ["acme", "brewco", "farmfresh", "nordic", "sunny", "urban"]
SEASONS = ["spring", "summer", "autumn", "winter"]
CUSTOM = ["organic", "local", "fair-trade", "new", "clearance"]
CHANNELS = ["web", "store-berlin", "store-paris", "app"]
TIERS = ["bronze", "silver", "gold"]
# The `program` mix: a larger catalog and more channels, as a real program has.
PROGRAM_DEPARTMENTS = [f"dept-{i:02d}" for i in range(24)]
PROGRAM_BRANDS = [f"brand-{i:02d}" for i in range(30)]
PROGRAM_CHANNELS = ["web", "app"] + [f"store-{i:02d}" for i in range(10)]
PROGRAM_TIERS = ["bronze", "silver", "gold", "platinum"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5000, help="timed evaluations")
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", choices=["program", "broad"], default="program")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of the evaluations")
    return parser.parse_args()


def line_condition(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(6)
    if choice == 0:
        where = {"fact": "line.category.department", "op": "eq", "value": rng.choice(DEPARTMENTS)}
    elif choice == 1:
        where = {"fact": "line.category.department", "op": "in", "value": rng.sample(DEPARTMENTS, 3)}
    elif choice == 2:
        where = {
            "all": [
                {"fact": "line.brand", "op": "eq", "value": rng.choice(BRANDS)},
                {"fact": "line.quantity", "op": "gte", "value": str(rng.randint(1, 3))},
            ]
        }
    elif choice == 3:
        where = {"fact": "line.customCategories", "op": "containsAny", "value": rng.sample(CUSTOM, 2)}
    elif choice == 4:
        where = {"fact": "line.amount", "op": "between", "value": ["2.00", str(rng.randint(5, 30))]}
    else:
        where = {"fact": "line.productKey", "op": "startsWith", "value": f"sku-{rng.randint(0, 9)}"}
    return {"lines": rng.choice(["any", "any", "any", "every", "none"]), "where": where}


def tx_condition(rng: random.Random) -> dict[str, Any]:
    return rng.choice(
        [
            {"fact": "tx.totalAmount", "op": "gte", "value": str(rng.randint(5, 120))},
            {"not": {"fact": "tx.paymentMethod", "op": "eq", "value": "voucher"}},
            {"fact": "tx.channel", "op": "in", "value": rng.sample(CHANNELS, 2)},
            {"fact": "tx.properties.campaign", "op": "eq", "value": rng.choice(["spring", "summer", "none"])},
            {"fact": "member.daysSinceEnrollment", "op": "lte", "value": str(rng.randint(10, 400))},
            {"fact": "member.isBirthday", "op": "eq", "value": rng.random() < 0.5},
            {"fact": "member.properties.newsletter", "op": "exists"},
            {"fact": "tx.itemCount", "op": "gt", "value": str(rng.randint(3, 30))},
        ]
    )


def condition(rng: random.Random) -> dict[str, Any] | None:
    kind = rng.randrange(5)
    if kind == 0:
        return None
    if kind == 1:
        return line_condition(rng)
    if kind == 2:
        return tx_condition(rng)
    if kind == 3:
        return {"all": [tx_condition(rng), line_condition(rng)]}
    return {"any": [tx_condition(rng), {"all": [line_condition(rng), {"not": tx_condition(rng)}]}]}


def effects(rng: random.Random) -> list[dict[str, Any]]:
    kind = rng.randrange(6)
    lines = rng.choice(["all", "qualifying"])
    if kind == 0:
        return [
            {
                "type": "perAmount",
                "points": str(rng.randint(1, 5)),
                "per": rng.choice(["1", "2.50", "10"]),
                "lines": lines,
            }
        ]
    if kind == 1:
        return [{"type": "perItem", "points": str(rng.randint(1, 20)), "lines": lines}]
    if kind == 2:
        return [{"type": "fixed", "points": str(rng.randint(10, 500))}]
    if kind == 3:
        return [{"type": "multiplier", "factor": rng.choice(["1.5", "2", "3"]), "lines": lines}]
    if kind == 4:
        return [{"type": "issueVoucher", "voucherType": "coffee-free"}]
    return [
        {"type": "fixed", "points": "25"},
        {"type": "perAmount", "points": "1", "per": "5", "lines": "qualifying"},
    ]


def definitions(count: int, rng: random.Random) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = [
        {
            "base": True,
            "effects": [{"type": "perAmount", "points": "1", "per": "1.00", "lines": "all"}],
            "pointType": "POINTS",
            "priority": 1000,
        }
    ]
    for i in range(count - 1):
        d: dict[str, Any] = {"effects": effects(rng), "pointType": rng.choice(["POINTS", "POINTS", "STATUS"])}
        cond = condition(rng)
        if cond is not None:
            d["condition"] = cond
        if rng.random() < 0.3:
            d["validity"] = {
                "from": "2026-01-01T00:00:00+01:00",
                "until": rng.choice([None, "2027-01-01T00:00:00+01:00", "2026-02-01T00:00:00+01:00"]),
                "weekdays": rng.sample(range(1, 8), rng.randint(2, 7)),
            }
            if rng.random() < 0.5:
                d["validity"]["hours"] = rng.choice([["07:00", "12:00"], ["09:00", "21:00"], ["22:00", "02:00"]])
                d["validity"]["timeZone"] = rng.choice(["Europe/Berlin", "America/New_York"])
        if rng.random() < 0.25:
            d["scope"] = {"channels": rng.sample(CHANNELS, 2), "tiers": rng.sample(TIERS, rng.randint(0, 2))}
        if rng.random() < 0.4:
            d["caps"] = {"perTransaction": str(rng.randint(20, 300))}
            if rng.random() < 0.5:
                d["caps"]["perMember"] = [{"period": rng.choice(["day", "month", "lifetime"]), "points": "1000"}]
            if rng.random() < 0.5:
                d["caps"]["budget"] = "100000"
        d["priority"] = rng.randint(0, 100)
        # A few exclusive and stop promotions, low in priority and rarely matching, as in a real program.
        if i % 40 == 39:
            d["stacking"] = rng.choice(["exclusive", "stop"])
            d["priority"] = rng.randint(0, 5)
            d["condition"] = {"fact": "tx.totalAmount", "op": "gte", "value": "10000"}
        result.append(d)
    return result


def program_definitions(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """A program's active promotions: most are targeted (category, brand, channel, tier, time)."""
    result: list[dict[str, Any]] = [
        {
            "base": True,
            "effects": [{"type": "perAmount", "points": "1", "per": "1.00", "lines": "all"}],
            "pointType": "POINTS",
            "priority": 1000,
        },
        {
            "base": True,
            "effects": [{"type": "perAmount", "points": "1", "per": "10.00", "lines": "all"}],
            "pointType": "STATUS",
            "priority": 1000,
        },
    ]
    department = lambda: {"fact": "line.category.department", "op": "eq", "value": rng.choice(PROGRAM_DEPARTMENTS)}  # noqa: E731
    brand = lambda: {"fact": "line.brand", "op": "eq", "value": rng.choice(PROGRAM_BRANDS)}  # noqa: E731
    for i in range(count - len(result)):
        family = rng.choices(
            ["category", "brand", "basket", "member", "product", "voucher"], weights=[35, 15, 15, 12, 15, 8]
        )[0]
        d: dict[str, Any] = {"pointType": "POINTS", "priority": rng.randint(0, 100)}
        if family == "category":
            where = (
                department()
                if rng.random() < 0.6
                else {"fact": "line.category.department", "op": "in", "value": rng.sample(PROGRAM_DEPARTMENTS, 2)}
            )
            if rng.random() < 0.3:
                where = {"all": [where, {"fact": "line.amount", "op": "gte", "value": str(rng.randint(2, 10))}]}
            d["condition"] = {"lines": "any", "where": where}
            d["effects"] = [
                rng.choice(
                    [
                        {"type": "multiplier", "factor": rng.choice(["2", "3", "1.5"]), "lines": "qualifying"},
                        {"type": "perAmount", "points": str(rng.randint(1, 5)), "per": "1.00", "lines": "qualifying"},
                    ]
                )
            ]
        elif family == "brand":
            d["condition"] = {
                "lines": "any",
                "where": {"all": [brand(), {"fact": "line.quantity", "op": "gte", "value": str(rng.randint(1, 3))}]},
            }
            d["effects"] = [
                rng.choice(
                    [
                        {"type": "perItem", "points": str(rng.randint(5, 50)), "lines": "qualifying"},
                        {"type": "fixed", "points": str(rng.randint(20, 200))},
                    ]
                )
            ]
        elif family == "basket":
            d["condition"] = {
                "all": [
                    {"fact": "tx.totalAmount", "op": "gte", "value": str(rng.choice([50, 100, 150, 250, 400]))},
                    {"not": {"fact": "tx.paymentMethod", "op": "eq", "value": "voucher"}},
                ]
            }
            d["effects"] = [{"type": "fixed", "points": str(rng.randint(50, 500))}]
            d["caps"] = {"perMember": [{"period": "month", "points": "1000"}]}
        elif family == "member":
            d["condition"] = rng.choice(
                [
                    {"fact": "member.isBirthday", "op": "eq", "value": True},
                    {"fact": "member.daysSinceEnrollment", "op": "lte", "value": "30"},
                    {
                        "all": [
                            {"fact": "member.properties.newsletter", "op": "exists"},
                            {"fact": "tx.properties.campaign", "op": "eq", "value": rng.choice(["spring", "summer"])},
                        ]
                    },
                    {
                        "any": [
                            {"fact": "member.tier", "op": "in", "value": ["gold", "platinum"]},
                            {"fact": "tx.itemCount", "op": "gte", "value": "40"},
                        ]
                    },
                ]
            )
            d["effects"] = [{"type": "fixed", "points": str(rng.randint(100, 1000))}]
            d["caps"] = {"perMember": [{"period": "lifetime", "points": "1000"}]}
        elif family == "product":
            d["condition"] = rng.choice(
                [
                    {
                        "lines": "any",
                        "where": {
                            "fact": "line.productKey",
                            "op": "in",
                            "value": [f"sku-{rng.randint(0, 499):03d}" for _ in range(5)],
                        },
                    },
                    {
                        "lines": "any",
                        "where": {"fact": "line.customCategories", "op": "containsAny", "value": rng.sample(CUSTOM, 2)},
                    },
                ]
            )
            d["effects"] = [{"type": "perItem", "points": str(rng.randint(1, 20)), "lines": "qualifying"}]
        else:
            d["condition"] = {
                "all": [{"fact": "tx.totalAmount", "op": "gte", "value": "30"}, {"lines": "any", "where": department()}]
            }
            d["effects"] = [{"type": "issueVoucher", "voucherType": "coffee-free"}]
        if rng.random() < 0.35:  # limited in time
            start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 330))
            d["validity"] = {
                "from": start.isoformat(),
                "until": (start + timedelta(days=rng.choice([7, 14, 31, 92]))).isoformat(),
            }
            if rng.random() < 0.4:
                d["validity"]["weekdays"] = sorted(rng.sample(range(1, 8), rng.randint(1, 3)))
            if rng.random() < 0.3:
                d["validity"]["hours"] = rng.choice([["07:00", "11:00"], ["17:00", "22:00"]])
                d["validity"]["timeZone"] = "Europe/Berlin"
        scope: dict[str, list[str]] = {}
        if rng.random() < 0.4:
            scope["channels"] = rng.sample(PROGRAM_CHANNELS, rng.randint(1, 3))
        if rng.random() < 0.2:
            scope["tiers"] = rng.sample(PROGRAM_TIERS, rng.randint(1, 2))
        if scope:
            d["scope"] = scope
        if "caps" not in d and rng.random() < 0.3:
            d["caps"] = {"perTransaction": str(rng.randint(5, 60)), "budget": "500000"}
        if i % 50 == 49:
            d["stacking"] = rng.choice(["exclusive", "stop"])
            d["priority"] = rng.randint(0, 5)
        result.append(d)
    return result


def transaction(lines: int, rng: random.Random, mix: str) -> Tx:
    items = []
    departments = DEPARTMENTS if mix == "broad" else PROGRAM_DEPARTMENTS
    brands = BRANDS if mix == "broad" else PROGRAM_BRANDS
    for index in range(1, lines + 1):
        quantity = Decimal(rng.randint(1, 4))
        unit = Decimal(rng.randint(50, 2500)) / 100
        items.append(
            Line(
                index=index,
                product_key=f"sku-{rng.randint(0, 99):02d}" if mix == "broad" else f"sku-{rng.randint(0, 499):03d}",
                quantity=quantity,
                unit_price=unit,
                amount=quantity * unit,
                categories={"department": rng.choice(departments), "season": rng.choice(SEASONS)},
                custom_categories=frozenset(rng.sample(CUSTOM, rng.randint(0, 2))),
                brand=rng.choice(brands),
            )
        )
    return Tx(
        occurred_at=datetime(2026, 6, 13, 9, 30, tzinfo=UTC),  # a Saturday morning
        total_amount=sum((line.amount for line in items), Decimal(0)),
        currency="EUR",
        channel="store-berlin" if mix == "broad" else "store-03",
        sponsor="retail",
        lines=tuple(items),
        payment_method="card",
        properties={"campaign": "summer"},
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    raw = definitions(args.promotions, rng) if args.mix == "broad" else program_definitions(args.promotions, rng)

    started = time.perf_counter()
    validated = [validate_definition(d) for d in raw]
    validate_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    promotions = [
        compile_promotion(
            key=f"promo-{i:03d}", version=1, version_id=i + 1, name=f"Promotion {i}", definition=d, precision=2
        )
        for i, d in enumerate(validated)
    ]
    compile_ms = (time.perf_counter() - started) * 1000

    tx = transaction(args.lines, rng, args.mix)
    member = Member(tier="silver", type="person", days_since_enrollment=120, properties={"newsletter": True})
    usage = CapUsage(
        budget={p.key: 50_000 for p in promotions if "budget" in p.definition["caps"]},
        member={(p.key, c["period"]): 300 for p in promotions for c in p.definition["caps"].get("perMember", [])},
    )
    run = lambda: evaluate(tx, member, promotions, usage, rounding="down", time_zone="Europe/Berlin")  # noqa: E731

    result = run()
    for _ in range(200):  # warm up
        run()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            run()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        return

    samples, cpu = [], []
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        run()
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
        samples.append((time.perf_counter_ns() - started) / 1e6)

    applied = [r for r in result.rewards if r.amount or r.voucher_types]
    reasons: dict[str, int] = {}
    for entry in result.not_applied:
        reasons[entry["reason"]] = reasons.get(entry["reason"], 0) + 1
    print(f"engine: {len(promotions)} promotions ({args.mix} mix), {len(tx.lines)}-line transaction, {args.runs} runs")
    print(f"  validate {len(raw)} definitions: {validate_ms:.1f} ms; compile: {compile_ms:.1f} ms")
    print(
        f"  result: {len(applied)} rewards, {sum(1 for r in result.rewards if r.capped)} capped, "
        f"not applied {dict(sorted(reasons.items()))}, points {result.points()}"
    )
    p50 = statistics.median(samples)
    print(
        f"  evaluate, wall: p50 {p50:.3f} ms  p95 {percentile(samples, 0.95):.3f} ms  "
        f"p99 {percentile(samples, 0.99):.3f} ms  (target p50 < 2 ms: {'met' if p50 < 2 else 'MISSED'})"
    )
    print(
        f"  evaluate, CPU:  p50 {statistics.median(cpu):.3f} ms  p95 {percentile(cpu, 0.95):.3f} ms  "
        f"p99 {percentile(cpu, 0.99):.3f} ms"
    )
    try:
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = ""
    print(f"  machine: {os.cpu_count()} CPUs{load} (wall times above CPU times mean other processes competed)")


if __name__ == "__main__":
    main()
