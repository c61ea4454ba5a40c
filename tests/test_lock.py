"""constraints.txt pins every package liveassist[test] pulls in, at the version installed,
so CI never picks up a release nobody tested. After changing dependencies: `make lock`."""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"


def pins() -> dict[str, str]:
    found = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version.strip()
    return found


def installed_closure() -> dict[str, str]:
    """Name → installed version of everything liveassist[test] requires, transitively."""
    versions: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [("liveassist", frozenset({"test"}))]
    while todo:
        name, extras = todo.pop()
        dist = distribution(name)
        for raw in dist.requires or []:
            req = Requirement(raw)
            wanted = req.marker is None or any(
                req.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            key = canonicalize_name(req.name)
            if wanted and key not in versions:
                versions[key] = distribution(req.name).version
                todo.append((req.name, frozenset(req.extras)))
    return versions


def test_lock_pins_every_dependency_at_the_installed_version() -> None:
    locked = pins()
    installed = installed_closure()
    assert sorted(set(installed) - set(locked)) == [], "not in constraints.txt; run make lock"
    differ = {n: (v, locked[n]) for n, v in installed.items() if locked[n] != v}
    assert differ == {}, "installed (left) differs from constraints.txt (right); make lock?"
