"""The house's rule: every import points down, and no two modules import each other.

Floors, bottom to top: core → accounts → regulations (the law as data) → obligations (the work)
→ notifications → reports → dashboard → tracker's urls, views, wsgi and Celery app → bench and
scripts. A module may import its own app and the floors below it. tracker's settings import no
app at all. Function-level imports count like any other; migrations and tests are not walked
(old migrations name old paths).
"""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = [
    "core",
    "accounts",
    "regulations",
    "obligations",
    "notifications",
    "reports",
    "dashboard",
    "tracker",
    "bench",
    "scripts",
]
NO_APP_IMPORTS = {"tracker.settings", "tracker", "tracker.celery"}


def project_modules() -> dict[str, Path]:
    modules = {}
    for floor in FLOORS:
        for path in (ROOT / floor).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its body (top level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] in FLOORS and t != name)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def floor(module: str) -> int:
    return FLOORS.index(module.split(".")[0])


def test_the_walk_sees_function_level_imports():
    graph = import_graph()
    # notifications.tasks imports its outbox at module level; bench.run imports the scenarios
    # inside main(): both must be seen, or the test below proves nothing.
    assert "notifications.outbox" in graph["notifications.tasks"]
    assert "bench.scenarios" in graph["bench.run"]


def test_every_import_points_down():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if floor(target) > floor(module)
    )
    assert upward == []


def test_settings_and_the_celery_app_import_no_app():
    graph = import_graph()
    offending = {module: sorted(graph[module]) for module in NO_APP_IMPORTS if graph.get(module)}
    # tracker/__init__ loads its own Celery app module, nothing else.
    if offending.get("tracker") == ["tracker.celery"]:
        del offending["tracker"]
    assert offending == {}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that reach each other."""
    index, low, on_stack, stack, groups, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_another_that_imports_it_back():
    assert strongly_connected(import_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_law_imports_nothing_of_the_work():
    # regulations/ is the law as data: it must stand without obligations/ (which seeds from it).
    graph = import_graph()
    assert any(module.startswith("regulations.") for module in graph)
    reaching_up = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.split(".")[0] == "regulations"
        for target in targets
        if target.split(".")[0] != "regulations" and floor(target) >= floor("obligations")
    )
    assert reaching_up == []


def test_selectors_import_no_service():
    # Reads never call writes: a service may read through a selector, never the reverse.
    graph = import_graph()
    selectors = [module for module in graph if module.rsplit(".", 1)[-1] == "selectors"]
    assert "obligations.selectors" in selectors and "dashboard.selectors" in selectors
    calls_writes = sorted(
        f"{module} -> {target}"
        for module in selectors
        for target in graph[module]
        if ".services" in f".{target}" or target.endswith("services")
    )
    assert calls_writes == []


def test_every_clock_read_goes_through_core_clock():
    # One clock (core.clock): Asia/Shanghai dates, and the demo story's told moments. A direct
    # read of the system clock anywhere else would escape both.
    direct = ("timezone.now()", "datetime.now()", "dt.datetime.now()", "date.today()", "timezone.localdate()")
    offending = sorted(
        f"{name}: {call}"
        for name, path in project_modules().items()
        if name != "core.clock" and name.split(".")[0] not in ("bench", "scripts")
        for call in direct
        if call in path.read_text()
    )
    assert offending == []
