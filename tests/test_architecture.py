"""The house plan (docs/architecture.md), checked on the source: the import graph between
spikelab modules has no cycle, no module imports another module's private name, the numpy-only
parts (the Lava plan, the exporters, the IR) do not pull in numba, and no function is long."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "spikelab"
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` in ``module`` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if _is_package(module) else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module`` that
    runs (at module level or inside a function; not the ``TYPE_CHECKING`` ones)."""
    tree = ast.parse(MODULES[module].read_text())
    skip = _type_checking_lines(tree)
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:  # `from . import kernels`: a module, not a name
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, a.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    """Edges between spikelab modules (any import, at module level or inside a function)."""
    return {
        m: {t for t, _, _ in _imports(m) if t in MODULES and t != m and not m.startswith(t + ".")}
        for m in MODULES
    }


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


def test_the_module_list_is_read():
    assert {"spikelab.ir", "spikelab.spikes", "spikelab.backends.base"} <= set(MODULES)


def test_no_import_cycle_between_spikelab_modules():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_are_not_edges():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\nimport y\n"
    )
    assert _type_checking_lines(tree) == {3}


def test_no_module_imports_a_private_name_of_another():
    bad = [
        f"{MODULES[m].relative_to(ROOT.parent)}:{line} imports {name} from {target}"
        for m in MODULES
        for target, name, line in _imports(m)
        if target.startswith("spikelab")
        and name is not None
        and name.startswith("_")
        and not name.startswith("__")
    ]
    assert not bad, "\n".join(bad)


def _uses_private_attribute_of_a_module(module: str) -> list[str]:
    """``mod._name`` where ``mod`` is a spikelab module imported under that name."""
    tree = ast.parse(MODULES[module].read_text())
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{target}.{a.name}"
    return [
        f"{MODULES[module].relative_to(ROOT.parent)}:{node.lineno} uses {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]


def test_no_module_uses_a_private_attribute_of_another_module():
    bad = [hit for m in MODULES for hit in _uses_private_attribute_of_a_module(m)]
    assert not bad, "\n".join(bad)


def test_no_function_over_the_limit():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {n} lines")
    assert not long, "\n".join(long)


@pytest.mark.parametrize(
    "module",
    [
        "spikelab",
        "spikelab.ir",
        "spikelab.spikes",
        "spikelab.event_binning",
        "spikelab.encoding",
        "spikelab.backends",
        "spikelab.backends.common",
        "spikelab.backends.lava",
        "spikelab.backends.lava.plan",
        "spikelab.export",
        "spikelab.export.nir",
        "spikelab.export.resources",
        "spikelab.export.lava",
    ],
)
def test_numpy_only_modules_do_not_import_numba_or_torch(module):
    code = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        "print(sorted(m for m in ('numba', 'torch', 'brian2', 'lava') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, module], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", f"import {module} pulled in {out.stdout.strip()}"
