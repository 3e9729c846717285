"""The package layout holds: product code never imports the dev kit (patchtrail.devkit)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Product source trees (the checkout's folders that the wheel installs under patchtrail).
PRODUCT = ("patchtrail", "flows", "transforms")
DEVKIT = "patchtrail.devkit"
#: The CLI's dev commands may import the dev kit, inside the command function only.
DEV_COMMANDS = {"patchtrail/cli/ingest.py": {"simulate", "lake_emulator", "demo"}}


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str, str | None]]:
    """(statement, imported module, enclosing top-level function or None) for every import."""
    found: list[tuple[ast.stmt, str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if function is None and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if isinstance(child, ast.Import):
                found.extend((child, alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child, child.module, inner))
                found.extend((child, f"{child.module}.{alias.name}", inner) for alias in child.names)
            visit(child, inner)

    visit(tree, None)
    return found


def _is_devkit(module: str) -> bool:
    return module == DEVKIT or module.startswith(DEVKIT + ".")


def _product_files() -> list[Path]:
    files = [p for top in PRODUCT for p in (ROOT / top).rglob("*.py")]
    return sorted(p for p in files if (ROOT / "patchtrail" / "devkit") not in p.parents)


def test_product_code_never_imports_the_devkit():
    offences = []
    for path in _product_files():
        rel = path.relative_to(ROOT).as_posix()
        allowed = DEV_COMMANDS.get(rel, set())
        for node, module, function in _imports(ast.parse(path.read_text(), filename=rel)):
            if _is_devkit(module) and function not in allowed:
                offences.append(f"{rel}:{node.lineno} imports {module}")
    assert not offences, "product code imports the dev kit:\n" + "\n".join(sorted(set(offences)))


def test_the_rule_catches_an_import():
    tree = ast.parse("from patchtrail.devkit.simulator import simulate_to_dir\n"
                     "from patchtrail import devkit\n"
                     "def demo():\n    import patchtrail.devkit.demo\n")
    modules = [(m, f) for _, m, f in _imports(tree) if _is_devkit(m)]
    assert ("patchtrail.devkit.simulator", None) in modules
    assert ("patchtrail.devkit", None) in modules
    assert ("patchtrail.devkit.demo", "demo") in modules


def test_the_devkit_is_where_the_rule_says():
    assert (ROOT / "patchtrail" / "devkit" / "__init__.py").is_file()
    assert _product_files(), "no product files found"


def test_the_wheel_lists_every_package_under_the_one_import_name():
    import tomllib

    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = tool["package-dir"]
    assert set(mapping) == {"patchtrail", "patchtrail.flows", "patchtrail.sql", "patchtrail.transforms"}
    on_disk = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in parts:
                on_disk.add(".".join((name, *parts)))
    assert set(tool["packages"]) == on_disk
    assert all(p == "patchtrail" or p.startswith("patchtrail.") for p in tool["packages"])
    assert (ROOT / "patchtrail" / "py.typed").is_file()
