"""Providers sit below the services: nothing a provider module imports reaches them.

Read from the source rather than by importing: Django's app loading imports
every app's admin and widgets, which use the services, before any test runs.
"""

import ast
import pkgutil
from pathlib import Path

import pytest

import messaging.providers

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("campaigns", "messaging", "portal")


def module_path(name: str) -> Path | None:
    """The source file of a first-party module or package, if there is one."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def imported_at_load(name: str) -> set[str]:
    """First-party modules that importing `name` runs: its module-level imports.

    Imports inside functions run later, when called, so they are not followed;
    a class body runs at import, so its imports are.
    """
    tree = ast.parse(module_path(name).read_text())
    found: set[str] = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # "from package import module" imports the module too.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    modules = set()
    for module in found:
        parts = module.split(".")
        # Importing a.b.c runs a and a.b first.
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if parts[0] in FIRST_PARTY and module_path(prefix):
                modules.add(prefix)
    return modules


def load_closure(name: str) -> dict[str, str]:
    """Every first-party module importing `name` loads, each with the module that imports it."""
    seen = {name: ""}
    pending = [name]
    while pending:
        current = pending.pop()
        for module in imported_at_load(current):
            if module not in seen:
                seen[module] = current
                pending.append(module)
    return seen


PROVIDER_MODULES = ["messaging.providers"] + [
    f"messaging.providers.{info.name}"
    for info in pkgutil.iter_modules(messaging.providers.__path__)
]


@pytest.mark.parametrize("module", PROVIDER_MODULES)
def test_a_provider_module_never_loads_the_services(module):
    closure = load_closure(module)
    chain = ["messaging.services"]
    while chain[-1] in closure and closure[chain[-1]]:
        chain.append(closure[chain[-1]])
    assert "messaging.services" not in closure, " <- ".join(chain)


def test_the_check_sees_an_import_of_the_services():
    # The services do load the providers' base: the check would see the loop.
    assert "messaging.providers.base" in load_closure("messaging.services")
    assert "messaging.services" in load_closure("messaging.ingest")
