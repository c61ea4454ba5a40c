"""The REST layer changes nothing itself: every write goes through a service below it
(signaling/accounts, chat, customers, recordings, reviews, tickets, auth), so the rules
around a change (checks that need the database, conflicts, audit lines, side effects) live
in one place whoever asks for it. Checked on the syntax tree, so a comment or a string never
counts and every finding names its file and line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "signaling" / "store"
HTTP = ROOT / "signaling" / "http"
STATEMENTS = {"insert", "update", "delete"}  # sqlalchemy's, and Table.insert() and the like
TRANSACTIONS = {"write", "write_in_thread"}  # Database's write transactions

Function = tuple[str, str]  # (module, name)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Each name a module binds by import, to the dotted name it stands for."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _dotted(node: ast.expr, bound: dict[str, str]) -> str | None:
    """`a.b.c` as the full dotted name it refers to, through the module's imports."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = bound.get(node.id, node.id)
    return ".".join([head, *reversed(names)])


def store_writers() -> set[str]:
    """The dotted names of the signaling.store functions that change rows: they build an
    INSERT, UPDATE or DELETE, or call a store function that does."""
    direct: set[str] = set()
    calls: dict[str, set[str]] = {}
    for path in sorted(STORE.glob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        bound = _imports(tree)
        own = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            name = f"{module}.{node.name}"
            calls[name] = set()
            for call in ast.walk(node):
                if not isinstance(call, ast.Call):
                    continue
                target = _dotted(call.func, bound)
                if target is None:
                    continue
                if target in {f"sqlalchemy.{s}" for s in STATEMENTS}:
                    direct.add(name)
                elif target.startswith("signaling.db.schema.") and (
                    target.rsplit(".", 1)[1] in STATEMENTS
                ):
                    direct.add(name)  # table.insert(), table.delete()
                elif target in own:
                    calls[name].add(f"{module}.{target}")
                elif target.startswith("signaling.store."):
                    calls[name].add(target)
    writers = set(direct)
    grew = True
    while grew:
        grew = False
        for name, callees in calls.items():
            if name not in writers and callees & writers:
                writers.add(name)
                grew = True
    return writers


def writes_in(source: str, filename: str, writers: set[str]) -> list[str]:
    """Where a module opens a write transaction or reaches a store function that writes,
    as "file:line: what", in line order."""
    tree = ast.parse(source, filename)
    bound = _imports(tree)
    found = [
        (getattr(node, "lineno", 0), what)
        for node in ast.walk(tree)
        for what in _writes(node, bound, writers)
    ]
    return [f"{filename}:{line}: {what}" for line, what in sorted(found)]


def _writes(node: ast.AST, bound: dict[str, str], writers: set[str]) -> Iterator[str]:
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            if f"{node.module}.{alias.name}" in writers:
                yield f"imports {node.module}.{alias.name}, a store write"
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        owner = node.value
        holder = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if node.attr in TRANSACTIONS and holder == "db":
            yield f"opens a write transaction (db.{node.attr}())"
        target = _dotted(node, bound)
        if target in writers:
            yield f"uses {target}, a store write"


def http_modules() -> list[Path]:
    return sorted(HTTP.glob("*.py"))


def test_store_writers_are_told_from_readers() -> None:
    writers = store_writers()
    assert {
        "signaling.store.audit.audit",
        "signaling.store.users.create_user",
        "signaling.store.recordings.drop_files",  # table.delete()
        "signaling.store.rubrics.create_rubric",  # through its own _add_version
        "signaling.store.messages.append_message",  # through chats.next_seq
    } <= writers
    assert (
        not {
            "signaling.store.users.user_by_id",
            "signaling.store.audit.list_audit",
            "signaling.store.users.public_user",
        }
        & writers
    )


def test_the_check_finds_each_kind_of_write() -> None:
    source = (
        "from signaling.store import users as user_store\n"
        "from signaling.store.audit import audit, list_audit\n"
        "import signaling.store.tickets\n"
        "async def handler(call):\n"
        "    async with call.runtime.db.write() as conn:\n"
        "        await user_store.update_user(conn, 1, {})\n"
        "        await signaling.store.tickets.change_ticket(conn, {}, {})\n"
        "    async with call.runtime.db.read() as conn:\n"
        "        await user_store.user_by_id(conn, 1)\n"
        "        await list_audit(conn, 1)\n"
        "    return call.runtime.db.write_stats  # db.write() in a comment is no write\n"
    )
    found = writes_in(source, "routes_x.py", store_writers())
    assert found == [
        "routes_x.py:2: imports signaling.store.audit.audit, a store write",
        "routes_x.py:5: opens a write transaction (db.write())",
        "routes_x.py:6: uses signaling.store.users.update_user, a store write",
        "routes_x.py:7: uses signaling.store.tickets.change_ticket, a store write",
    ]


def test_rest_routes_write_only_through_services() -> None:
    assert any(p.name.startswith("routes_") for p in http_modules())
    writers = store_writers()
    found = [
        finding
        for path in http_modules()
        for finding in writes_in(path.read_text(), str(path.relative_to(ROOT)), writers)
    ]
    assert not found, "the HTTP layer writes itself; call a service instead:\n" + "\n".join(found)
