"""The layout of the house (DESIGN.md): a room stands above what it uses.

Every module of every app is parsed (its AST: imports at the top, inside functions and under
TYPE_CHECKING alike, and modules named to importlib.import_module or apps.get_model), and:
- no module of `loyalty/`, the ground, uses an app that stands on it;
- an app uses only the apps listed before it in APPS (DESIGN.md's order);
- the modules of one app do not use each other in a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# DESIGN.md's order: each app may use those before it, never one after it.
APPS = [
    "loyalty",
    "imports",
    "memberships",
    "ledger",
    "promotions",
    "vouchers",
    "transactions",
    "webhooks",
    "backoffice",
]
ABOVE_THE_GROUND = [
    "memberships",
    "ledger",
    "promotions",
    "vouchers",
    "imports",
    "transactions",
    "webhooks",
    "backoffice",
]


@dataclass
class Graph:
    """Modules by dotted name, and which project modules each one uses (with the line that does)."""

    modules: dict[str, Path] = field(default_factory=dict)
    uses: dict[str, dict[str, int]] = field(default_factory=dict)

    def app_of(self, module: str) -> str:
        return module.split(".", 1)[0]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _named_in_call(node: ast.Call) -> str | None:
    """`import_module("a.b")` -> a.b; `apps.get_model("app", ...)` / `get_model("app.Model")` -> app."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
        return None
    value = node.args[0].value
    if name == "import_module":
        return value
    if name == "get_model":
        return f"{value.split('.', 1)[0]}.models"
    return None


def imported(module: str, is_package: bool, tree: ast.AST) -> Iterable[tuple[list[str], int]]:
    """Candidate targets of each import statement (the longest that is a project module wins)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield [alias.name], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                yield [f"{base}.{alias.name}", base], node.lineno
        elif isinstance(node, ast.Call) and (named := _named_in_call(node)):
            yield [named], node.lineno


def build_graph(root: Path, apps: list[str]) -> Graph:
    graph = Graph()
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            graph.modules[module_name(root, path)] = path
    for module, path in graph.modules.items():
        uses: dict[str, int] = {}
        tree = ast.parse(path.read_text(), filename=str(path))
        for candidates, line in imported(module, path.name == "__init__.py", tree):
            for candidate in candidates:
                # `import a.b.c` and `from a.b import c` use the deepest project module they name.
                while candidate and candidate not in graph.modules and "." in candidate:
                    candidate = candidate.rpartition(".")[0]
                if candidate in graph.modules and candidate != module:
                    uses.setdefault(candidate, line)
                    break
        graph.uses[module] = uses
    return graph


def upward_uses(graph: Graph, apps: list[str]) -> list[str]:
    """`module:line -> used` wherever an app uses one listed after it."""
    found = []
    for module, uses in graph.uses.items():
        for used, line in uses.items():
            mine, theirs = apps.index(graph.app_of(module)), apps.index(graph.app_of(used))
            if theirs > mine:
                found.append(f"{module}:{line} -> {used}")
    return sorted(found)


def circles(graph: Graph) -> list[list[str]]:
    """Each circle among the modules of one app, as the path that closes it (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def inside(module: str) -> list[str]:
        return sorted(u for u in graph.uses[module] if graph.app_of(u) == graph.app_of(module))

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for used in inside(module):
            if used not in index:
                visit(used)
                low[module] = min(low[module], low[used])
            elif used in on_stack:
                low[module] = min(low[module], index[used])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return [_closing_path(graph, component) for component in components]


def _closing_path(graph: Graph, component: list[str]) -> list[str]:
    """A shortest walk from the component's first module back to it, for the failure message."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for used in sorted(graph.uses[module]):
                if used == start:
                    return paths[module] + [start]
                if used in members and used not in paths:
                    paths[used] = paths[module] + [used]
                    following.append(used)
        frontier = following
    return component


PROJECT = build_graph(ROOT, APPS)


def test_the_walk_sees_every_app_and_the_imports_of_their_modules():
    assert {PROJECT.app_of(m) for m in PROJECT.modules} == set(APPS)
    assert "transactions.services" in PROJECT.modules and "promotions.engine" in PROJECT.modules
    assert "promotions.engine" in PROJECT.uses["transactions.services"]  # from promotions.engine import ...
    assert "ledger.services" in PROJECT.uses["transactions.services"]  # from ledger.services import EarnLine
    assert "loyalty.models" in PROJECT.uses["loyalty.configuration"]


def test_the_ground_uses_no_app_that_stands_on_it():
    found = [
        f"{module}:{line} -> {used}"
        for module, uses in PROJECT.uses.items()
        if PROJECT.app_of(module) == "loyalty"
        for used, line in uses.items()
        if PROJECT.app_of(used) in ABOVE_THE_GROUND
    ]
    assert found == []


def test_each_app_uses_only_the_apps_listed_before_it():
    assert upward_uses(PROJECT, APPS) == []


def test_the_modules_of_one_app_use_each_other_in_no_circle():
    assert circles(PROJECT) == []


def test_the_checks_find_an_upward_import_and_a_circle_where_there_is_one(tmp_path):
    """The same checks on a small tree that breaks both rules, in the ways the project once did."""
    files = {
        "base/__init__.py": "",
        "base/config.py": "from base.models import Program\n",
        "base/models.py": "def f():\n    from base import config\n",
        "base/late.py": "from importlib import import_module\nimport_module('top.views')\n",
        "top/__init__.py": "",
        "top/views.py": "from . import tasks\nfrom base.models import Program\n",
        "top/tasks.py": "def run():\n    from top.services.core import go\n",
        "top/services/__init__.py": "",
        "top/services/core.py": "from ..views import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = build_graph(tmp_path, ["base", "top"])
    assert upward_uses(graph, ["base", "top"]) == ["base.late:2 -> top.views"]
    assert sorted(circles(graph)) == [
        ["base.config", "base.models", "base.config"],
        ["top.services.core", "top.views", "top.tasks", "top.services.core"],
    ]
