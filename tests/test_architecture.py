"""The house's rooms (README, "Where things are"): which module may import which, and the
operations as the only functions Connexion is handed."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import yaml

from handlers.platform import app as factory

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
FRAMEWORKS = ("connexion", "starlette", "uvicorn")


def modules(package: str) -> list[tuple[str, Path]]:
    folder = ROOT.joinpath(*package.split("."))
    return [(package + ("" if path.stem == "__init__" else f".{path.stem}"), path)
            for path in sorted(folder.glob("*.py"))]


def imports_of(module: str, path: Path) -> set[str]:
    """Every module `path` imports, absolute (`from . import x` resolved), anywhere in it."""
    found: set[str] = set()
    package = module if path.stem == "__init__" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def ours(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def crossings(package: str, allowed, forbidden_frameworks: bool) -> list[str]:
    """Imports of `package`'s modules that break its room's rule."""
    wrong = []
    for module, path in modules(package):
        for name in sorted(imports_of(module, path)):
            if (forbidden_frameworks and any(ours(name, f) for f in FRAMEWORKS)
                    or (ours(name, "handlers") or ours(name, "db")) and not allowed(module, name)):
                wrong.append(f"{module} imports {name}")
    return wrong


def within(*prefixes: str):
    return lambda _module, name: any(ours(name, p) for p in prefixes) or name in ("handlers", "db")


def test_operations_import_only_db_the_wire_and_the_ssrf_check():
    allowed = within("db", "handlers.wire", "handlers.outbound.ssrf", "handlers.operations")
    assert crossings("handlers.operations", allowed, forbidden_frameworks=False) == []


def test_the_wire_knows_no_framework_and_no_rules():
    allowed = within("handlers.wire", "db.models", "db.fields", "db.errors", "db.events")
    assert crossings("handlers.wire", allowed, forbidden_frameworks=True) == []


def test_the_platform_never_imports_operations_and_db_only_where_it_must():
    def allowed(module: str, name: str) -> bool:
        if ours(name, "handlers.operations") or ours(name, "handlers.cli"):
            return False
        if ours(name, "db.errors"):  # what the error handlers map to problems
            return True
        if ours(name, "db"):  # the factory binds the database; auth and idempotency read it
            return module.rsplit(".", 1)[-1] in ("app", "auth", "idempotency")
        return True

    assert crossings("handlers.platform", allowed, forbidden_frameworks=False) == []


def test_outbound_work_knows_no_framework():
    allowed = within("handlers.outbound", "db.outbox", "db.errors", "handlers.platform.settings")
    assert crossings("handlers.outbound", allowed, forbidden_frameworks=True) == []


def test_db_never_imports_the_http_side():
    wrong = [f"{module} imports {name}"
             for package in ("db", "db.migrations") for module, path in modules(package)
             for name in imports_of(module, path)
             if ours(name, "handlers") or any(ours(name, f) for f in FRAMEWORKS)]
    assert wrong == []


def test_the_rule_test_sees_a_crossing():
    """The checker itself: a wire module importing Connexion, or the platform importing an
    operation, is found."""
    fake = ROOT / "handlers" / "wire" / "present.py"
    names = imports_of("handlers.wire.present", fake)
    assert "db.models" in names and "handlers.wire.present" not in names
    sample = ast.parse("from connexion import request\nfrom ..operations import interviews\n")
    assert {n.module for n in ast.walk(sample) if isinstance(n, ast.ImportFrom)} == {
        "connexion", "operations"}


def operation_ids() -> list[str]:
    return sorted(op["operationId"] for item in SPEC["paths"].values()
                  for method, op in item.items() if isinstance(op, dict) and "operationId" in op)


@pytest.mark.parametrize("operation_id", operation_ids())
def test_every_operation_id_resolves_to_a_function_defined_in_operations(operation_id):
    module_name, function = factory.operation(operation_id)
    assert function.__module__ == f"handlers.operations.{module_name}"
    assert factory.operation_name(operation_id) in (function.__name__,
                                                    "create_interview_trailing_slash")


def test_operations_modules_hold_only_operations():
    """Every public function defined in an operations module is named after an operationId."""
    names = {factory.operation_name(op) for op in operation_ids()}
    extra = []
    for module, path in modules("handlers.operations"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") \
                    and node.name not in names:
                extra.append(f"{module}.{node.name}")
    assert extra == []


def test_a_name_imported_into_operations_is_not_an_operation(monkeypatch):
    """The resolver hands Connexion only functions the operations modules define."""
    from handlers.operations import interviews

    monkeypatch.setattr(interviews, "show_nothing", inspect.getmodule(re).compile, raising=False)
    with pytest.raises(LookupError):
        factory.operation("showNothing")


def test_middlewares_are_named_as_starlette_names_them():
    """Every ASGI middleware class (constructed around an `app`) ends in `Middleware`."""
    from handlers.platform import cors, headers, limits, observability, openapi_document, ratelimit

    for module in (cors, headers, limits, observability, openapi_document, ratelimit):
        middlewares = [name for name, value in vars(module).items()
                       if inspect.isclass(value) and value.__module__ == module.__name__
                       and "app" in inspect.signature(value.__init__).parameters]
        assert middlewares and all(name.endswith("Middleware") for name in middlewares), \
            module.__name__


def test_no_test_imports_another_test_module():
    """Shared test code lives in tests/helpers/, fixtures in conftest.py."""
    wrong = [f"{path.name} imports {name}" for path in sorted((ROOT / "tests").glob("*.py"))
             for name in imports_of(f"tests.{path.stem}", path)
             if re.fullmatch(r"tests\.(test_\w+|conftest)(\..*)?", name)]
    assert wrong == [], wrong
