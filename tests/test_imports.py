"""No module of gateway/ imports itself through others: a circle means two modules that cannot
be read, tested or loaded apart, and a half-initialised module the day the order changes."""

from __future__ import annotations

import subprocess
import sys

import grimp


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each group of modules that reach one another (Tarjan's strongly connected components),
    counting every import: at module level, inside a function, under TYPE_CHECKING."""
    imports = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in imports.get(module, []):
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1 or module in imports.get(module, []):
                circles.append(sorted(group))

    for module in imports:
        if module not in order:
            visit(module)
    return circles


def _described(graph: grimp.ImportGraph, circle: list[str]) -> str:
    """Each import inside the circle, with its line, so the message says what to move."""
    lines = []
    for importer in circle:
        for imported in circle:
            for d in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"  {importer}:{d['line_number']}  {d['line_contents']}")
    return "\n".join(lines)


def test_no_module_in_gateway_imports_itself_through_others() -> None:
    graph = grimp.build_graph("gateway", cache_dir=None)
    circles = import_circles(graph)
    report = "\n\n".join(f"{', '.join(c)}:\n{_described(graph, c)}" for c in circles)
    assert circles == [], f"import circles in gateway/:\n{report}"


def test_a_circle_is_found_and_named() -> None:
    """The search itself, on a made-up graph: a three-module circle beside a clean chain."""
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_circles(graph) == [["p.a", "p.b", "p.c"]]


def test_smsgate_starts_without_flask_twilio_or_rq() -> None:
    """`smsgate --help` and `keywords check` stay quick: the web app, the Twilio SDK and RQ
    load only inside the commands that use them (dev, web, worker, backfill, reconcile, and
    those that open the runtime)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, gateway.cli; print(*sys.modules, sep='\\n')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert not {"flask", "twilio", "rq"} & set(loaded)
