"""The README's promises: the two fresh-machine commands, CI parity, the record table."""

from __future__ import annotations

import re

from pipelines.record import markdown_table, record_fields
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def fenced_commands() -> list[str]:
    """The README's ``sh`` code blocks, in order."""
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, flags=re.S)]


def test_readme_opens_with_demo_and_test_commands() -> None:
    demo, tests = fenced_commands()[:2]
    assert "autonews crawl --demo" in demo and "pip install" in demo
    assert "pytest" in tests and "pip install" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert fenced_commands()[1] in ci.splitlines()


def test_record_table_matches_schema() -> None:
    block = re.search(r"<!-- record-table:start -->\n(.*?)\n<!-- record-table:end -->", README, flags=re.S)
    assert block, "record table markers missing"
    assert block.group(1) == markdown_table()
    listed = re.findall(r"^\| `(\w+)` \|", block.group(1), flags=re.M)
    assert listed == record_fields()
