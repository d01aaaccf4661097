"""Extension points for the apps that own things of a membership (points, transactions, vouchers).

Register from your AppConfig.ready():

    from memberships.hooks import register_accounts_provider, register_cancel_hook, register_merge_hook

    @register_merge_hook
    def move_points(source, target, actor):
        ...  # move accounts, lots, vouchers from source to target

    @register_cancel_hook
    def forfeit_points(membership, actor):
        ...  # book the forfeiture; membership.cancel_reason says why

    register_accounts_provider(lambda membership: [AccountSummary(...), ...])

Merge and cancel hooks run inside the service's transaction, after the memberships app has done
its own part and with both memberships locked (`select_for_update`), in the order they were
registered. Whatever they write commits or rolls back together with the merge or cancel; a hook
that raises (a DomainError to refuse with its own code) undoes the whole operation.

Member page panels: the apps above add what they know of a member to the member page in the admin
(points, tier, transactions, vouchers), so a manager sees it where they already are:

    register_member_panel(MemberPanel(key="points", title="Points", order=10,
                                      template="admin/ledger/member_points.html", context=points_panel))

`context(membership, request)` returns the template's context, or None to leave the panel out (for a
user without the permission to see it).

The accounts provider answers `GET /memberships/{key}/accounts`. With none registered the answer is
an empty list: the memberships app never invents balances. The tier standing provider (the tier
engine of the promotions app) adds the status points and what the next tier takes to the details;
with none registered the details say nothing about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from loyalty.actors import Actor
    from memberships.models import Membership

MergeHook = Callable[["Membership", "Membership", "Actor"], None]
CancelHook = Callable[["Membership", "Actor"], None]


@dataclass(frozen=True)
class AccountSummary:
    """One point account of a membership, as `GET /memberships/{key}/accounts` shows it.

    Amounts are Decimals already rounded to the point type's precision (`Decimal("120.00")`).
    """

    point_type: str
    name: str
    redeemable_type: bool
    balance: Decimal
    blocked: Decimal
    redeemable: Decimal


AccountsProvider = Callable[["Membership"], list[AccountSummary]]


@dataclass(frozen=True)
class MemberPanel:
    """A part of the member page that another app fills in (see the module's docstring). Header panels
    (balances, tier progress) stay in view above the tabs; the others are tabs beside the member data."""

    key: str
    title: str
    order: int
    template: str
    context: Callable[[Membership, Any], dict[str, Any] | None]
    placement: str = "tab"  # "header" or "tab"


class HookList:
    """An ordered set of callables; registering the same function twice keeps one entry."""

    def __init__(self, name: str):
        self.name = name
        self._hooks: list[Callable] = []

    def register(self, fn: Callable) -> Callable:
        if fn not in self._hooks:
            self._hooks.append(fn)
        return fn

    def unregister(self, fn: Callable) -> None:
        if fn in self._hooks:
            self._hooks.remove(fn)

    def __iter__(self) -> Iterator[Callable]:
        return iter(list(self._hooks))

    def __len__(self) -> int:
        return len(self._hooks)


merge_hooks = HookList("merge")
cancel_hooks = HookList("cancel")
# fn(memberships) -> {membership id: [sentences]}: what cancelling them would do, for the confirmation
# page ("2,554.53 Points will be forfeited."), in a fixed number of queries however many are selected.
cancel_previews = HookList("cancel preview")
_accounts_provider: AccountsProvider | None = None


def register_merge_hook(fn: MergeHook) -> MergeHook:
    """fn(source, target, actor): move what belongs to `source` over to `target`. Usable as a decorator."""
    return merge_hooks.register(fn)


def unregister_merge_hook(fn: MergeHook) -> None:
    merge_hooks.unregister(fn)


def register_cancel_hook(fn: CancelHook) -> CancelHook:
    """fn(membership, actor): settle what a cancelled membership holds. Usable as a decorator."""
    return cancel_hooks.register(fn)


def unregister_cancel_hook(fn: CancelHook) -> None:
    cancel_hooks.unregister(fn)


def register_cancel_preview(fn: Callable[[list[Membership]], dict[int, list[str]]]) -> Callable:
    """fn(memberships) -> {membership id: [what cancelling it would do, in words]}."""
    return cancel_previews.register(fn)


def cancel_consequences(memberships: list[Membership]) -> dict[int, list[str]]:
    """Every registered preview's sentences per membership, in the order the previews were registered."""
    found: dict[int, list[str]] = {m.pk: [] for m in memberships}
    for preview in cancel_previews:
        for pk, sentences in preview(memberships).items():
            found.setdefault(pk, []).extend(sentences)
    return found


def register_accounts_provider(fn: AccountsProvider) -> AccountsProvider:
    """fn(membership) -> list[AccountSummary]. One provider (the ledger); a second one is a mistake."""
    global _accounts_provider
    if _accounts_provider is not None and _accounts_provider is not fn:
        raise ImproperlyConfigured(f"An accounts provider is already registered: {_accounts_provider!r}.")
    _accounts_provider = fn
    return fn


def unregister_accounts_provider(fn: AccountsProvider) -> None:
    global _accounts_provider
    if _accounts_provider is fn:
        _accounts_provider = None


_member_panels: dict[str, MemberPanel] = {}


@dataclass(frozen=True)
class MemberColumns:
    """Columns of the membership list that another app fills in: `values(ids)` gives, for each of its
    columns (by key), the shown value of each membership of the page, for the whole page at once (a
    fixed number of queries, whatever the page size)."""

    key: str
    order: int
    titles: tuple[tuple[str, str], ...]  # (column key, column title), left to right
    values: Callable[[list[int]], dict[str, dict[int, str]]]


_member_columns: dict[str, MemberColumns] = {}


def register_member_columns(columns: MemberColumns) -> MemberColumns:
    """Add (or replace, by key) columns of the membership list."""
    _member_columns[columns.key] = columns
    return columns


def member_columns() -> list[MemberColumns]:
    return sorted(_member_columns.values(), key=lambda c: (c.order, c.key))


def register_member_panel(panel: MemberPanel) -> MemberPanel:
    """Add (or replace, by key) a panel of the member page."""
    _member_panels[panel.key] = panel
    return panel


def unregister_member_panel(key: str) -> None:
    _member_panels.pop(key, None)


def member_panels(membership: Membership, request: Any) -> list[tuple[MemberPanel, dict[str, Any]]]:
    """The panels this user may see, in their order, each with its context."""
    shown = []
    for panel in sorted(_member_panels.values(), key=lambda p: (p.order, p.key)):
        context = panel.context(membership, request)
        if context is not None:
            shown.append((panel, context))
    return shown


# Enrollment channels: where a member enrolled is one of these sources, or a channel of the catalog
# (a store, a web shop), which the app owning the catalog says it knows.
ENROLLMENT_SOURCES = ("web", "app", "store", "phone", "sales", "partner", "admin", "import", "api")
_channel_known: Callable[[str], bool] | None = None


def register_channel_check(fn: Callable[[str], bool]) -> Callable[[str], bool]:
    """fn(key) -> True when the catalog has a channel with this key."""
    global _channel_known
    _channel_known = fn
    return fn


def enrollment_channel_known(key: str) -> bool:
    return key in ENROLLMENT_SOURCES or bool(_channel_known and _channel_known(key))


_tier_standing_provider: Callable[[Membership], dict | None] | None = None


def register_tier_standing_provider(fn: Callable[[Membership], dict | None]) -> Callable:
    """fn(membership) -> {tier, status_points, ...} for the details answer, or None."""
    global _tier_standing_provider
    _tier_standing_provider = fn
    return fn


def tier_standing_of(membership: Membership) -> dict | None:
    return _tier_standing_provider(membership) if _tier_standing_provider else None


def run_merge_hooks(source: Membership, target: Membership, actor: Actor) -> None:
    for hook in merge_hooks:
        hook(source, target, actor)


def run_cancel_hooks(membership: Membership, actor: Actor) -> None:
    for hook in cancel_hooks:
        hook(membership, actor)


def accounts_of(membership: Membership) -> list[AccountSummary]:
    if _accounts_provider is None:
        return []
    return list(_accounts_provider(membership))


@dataclass(frozen=True)
class MemberAction:
    """Something a manager does to one member from the member page, through the app's own service.

    `allowed(request, membership)` says whether this user may do it to this member now; `form` is the
    form class (constructed with the membership as `membership=`); `preview(membership, data)` returns
    the sentences the confirmation shows in numbers ("142.50 Points will move to ...") or [] to act
    without one; `run(membership, data, actor)` calls the service and returns the message to show.
    Domain errors raised by either are shown on the form.
    """

    key: str
    title: str
    order: int
    allowed: Callable[[Any, Membership], bool]
    form: type
    run: Callable[[Membership, dict[str, Any], Any], str]
    preview: Callable[[Membership, dict[str, Any]], list[str]] = lambda membership, data: []
    explanation: str = ""


_member_actions: dict[str, MemberAction] = {}


def register_member_action(action: MemberAction) -> MemberAction:
    """Add (or replace, by key) an action of the member page."""
    _member_actions[action.key] = action
    return action


def member_action(key: str) -> MemberAction | None:
    return _member_actions.get(key)


def member_actions(request: Any, membership: Membership) -> list[MemberAction]:
    """The actions this user may take on this member now, in their order."""
    ordered = sorted(_member_actions.values(), key=lambda a: (a.order, a.key))
    return [action for action in ordered if action.allowed(request, membership)]


@dataclass(frozen=True)
class ExportColumns:
    """Columns another app adds to the memberships export (e.g. the ledger's balances): their names
    (read when an export starts) and their values for a chunk of membership ids (one query a chunk)."""

    names: Callable[[], list[str]]
    values: Callable[[list[int]], dict[int, list[Any]]]


_export_columns: list[ExportColumns] = []


def register_export_columns(columns: ExportColumns) -> ExportColumns:
    if columns not in _export_columns:
        _export_columns.append(columns)
    return columns


def export_columns() -> list[ExportColumns]:
    return list(_export_columns)
