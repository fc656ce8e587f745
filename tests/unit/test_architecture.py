"""The architecture docs/architecture.md describes: light core types, and no import cycle in the engine."""

import ast
import subprocess
import sys

from testkit.tiny import REPO


def test_the_model_free_lab_loads_without_torch_or_sympy():
    check = "import gsi_core.theory, gsi_core.methods, sys; assert not {'torch', 'sympy'} & set(sys.modules), sys.modules"
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def engine_imports() -> dict[str, set[str]]:
    """Module → the gsi_core modules it imports, anywhere in it (inside functions too), read from the source."""
    package = REPO / "gsi_core"
    graph = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        here = parts[:-1]  # the package a relative import starts from
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = [*base, *(node.module.split(".") if node.module else [])]
                targets.add(".".join(module))
                targets.update(".".join([*module, alias.name]) for alias in node.names)  # `from . import x`
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = targets
    return {name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    return next((cycle for node in sorted(graph) if node not in state and (cycle := visit(node))), None)


def test_the_engine_has_no_import_cycle():
    graph = engine_imports()
    assert {"gsi_core.loading", "gsi_core.rewards", "gsi_core.vllm_backend"} <= set(graph)
    assert "gsi_core.vocabulary" in graph["gsi_core.methods.base"]  # imports inside the package are seen
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


MAX_FUNCTION_LINES = 60


def long_functions(paths, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`file:function (lines)` for every function or method, nested ones too, longer than `limit` lines (its
    decorators, signature, docstring and body)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno - first + 1 > limit:
                    found.append(f"{path.name}:{node.name} ({node.end_lineno - first + 1})")
    return found


def test_no_function_in_the_engine_or_the_ui_is_longer_than_60_lines():
    paths = sorted([*(REPO / "gsi_core").rglob("*.py"), *(REPO / "gsi_ui").rglob("*.py")])
    assert len(paths) > 30
    assert long_functions(paths) == []


def test_the_length_check_counts_decorators_and_nested_functions(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(58))  # inner: 59 lines; outer, with its decorator: 61
    (tmp_path / "m.py").write_text(f"@decorator\ndef outer():\n    def inner():\n{body}\n")
    assert [line.split(":")[1] for line in long_functions([tmp_path / "m.py"], limit=60)] == ["outer (61)"]
    assert [line.split(":")[1] for line in long_functions([tmp_path / "m.py"], limit=58)] == ["outer (61)", "inner (59)"]
