"""liveassist.sample.toml names every config key with its real default and a reason, so the
sample cannot drift from signaling/config.py."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path

from signaling.config import Config, load_config

SAMPLE = Path(__file__).resolve().parent.parent / "liveassist.sample.toml"
KEY_LINE = re.compile(r"#([a-z_]+) = (.+)")  # a commented-out key; prose is "# ..."


def declared_keys() -> set[tuple[str, str]]:
    sections = typing.get_type_hints(Config)
    return {
        (section.name, key.name)
        for section in dataclasses.fields(Config)
        for key in dataclasses.fields(sections[section.name])
    }


def uncommented(text: str) -> str:
    return "\n".join(line[1:] if KEY_LINE.fullmatch(line) else line for line in text.splitlines())


def test_sample_names_every_key_and_nothing_else() -> None:
    parsed = tomllib.loads(uncommented(SAMPLE.read_text()))
    named = {(section, key) for section, values in parsed.items() for key in values}
    assert sorted(declared_keys() - named) == [], "keys missing from the sample"
    assert sorted(named - declared_keys()) == [], "keys in the sample that do not exist"


def test_sample_values_are_the_defaults(tmp_path: Path) -> None:
    active = tmp_path / "all-keys.toml"
    active.write_text(uncommented(SAMPLE.read_text()))
    assert load_config(active, environ={}) == load_config(environ={})
    # and the sample as shipped (everything commented out) is a valid, empty configuration
    assert load_config(SAMPLE, environ={}) == load_config(environ={})


def test_every_key_says_why() -> None:
    lines = SAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if KEY_LINE.fullmatch(line):
            above = lines[number - 1]
            assert above.startswith("# ") and len(above) > 12, f"no reason above {line!r}"
            assert len(line) <= 100 and len(above) <= 100
