"""Mutation run: how many deliberate bugs in the modules where a silent bug costs most the tests catch.

    python -m tests.benchmarks.mutations [--module NAME ...] [--jobs 2] [--show-survivors 40]

For each module group below, mutmut (3.x, in the test extras) writes every mutant of its functions
(operators, comparisons, constants, arguments, return values swapped) into a scratch copy of the
repository and runs, for each mutant, the tests of that group that call the mutated function
(mutmut records which tests reach which function, in the test process). Tests that start the
``autonews`` console script run the copy's unmutated code in their subprocess, so a mutant is judged by the
tests that call its function in-process: behaviour checked only through the CLI shows as "no tests".

Printed per module: mutants, killed, timed out (counted as caught: the mutant made the code hang),
survived, "no tests" (no test of the group reaches that function in-process: a mutant nothing
checks, counted as not caught) and the score ``(killed + timeout) / (total - equivalent)``. The
surviving mutants are listed with their diff line. Mutants judged equivalent (the mutated code
behaves the same on every input the program can give it) are listed in ``mutations_equivalent.json``
beside this file, each with the reason, and are left out of the score.

Not in ``.ci/run``: the whole run took 19 minutes with ``--jobs 2`` on 2 cores (figures in the README).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EQUIVALENT_FILE = Path(__file__).with_name("mutations_equivalent.json")


@dataclass(frozen=True)
class Group:
    """One module (or package) and the test files that are meant to check it."""

    name: str
    paths: tuple[str, ...]
    tests: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group("pipelines/dedupe", ("pipelines/dedupe",),
          ("tests/test_dedupe.py", "tests/test_neardup.py", "tests/test_neardup_threshold.py", "tests/test_urls.py",
           "tests/test_properties.py", "tests/test_state.py", "tests/test_versions.py",
           "tests/test_mut_dedupe_journal.py", "tests/test_mut_dedupe_neardup.py", "tests/test_mut_dedupe_pipeline.py",
           "tests/test_mut_dedupe_urls.py")),
    # Not tests/test_output_safety.py: its tests run the console script (checks mutmut cannot see) and only read the
    # output in-process, which cost ~40 s per mutant they reach; its one in-process recovery case is in
    # test_mut_storage_recovery.py.
    Group("pipelines/storage", ("pipelines/storage",),
          ("tests/test_storage.py", "tests/test_sealed.py", "tests/test_manifest.py", "tests/test_safefs.py",
           "tests/test_properties.py", "tests/test_mut_storage_files.py",
           "tests/test_mut_storage_manifest.py", "tests/test_mut_storage_pipeline.py", "tests/test_mut_storage_recovery.py",
           "tests/test_mut_storage_warc.py")),
    Group("pipelines/consumer", ("pipelines/consumer",),
          ("tests/test_consumer.py", "tests/test_consumer_contract.py", "tests/test_consumer_integrity.py",
           "tests/test_mut_consumer_files.py", "tests/test_mut_consumer_reader.py")),
    Group("pipelines/language/pipeline.py", ("pipelines/language/pipeline.py",),
          ("tests/test_language.py", "tests/test_language_boundary.py", "tests/test_language_pipeline.py")),
    # test_security_discovery.py and test_security_pickle.py check crawler/discovery and crawler/distributed
    # (through the console script); no test of theirs reaches crawler/security in-process.
    Group("crawler/security", ("crawler/security",),
          ("tests/test_security.py", "tests/test_mut_security_policy.py", "tests/test_mut_security_guard.py")),
    Group("pipelines/extract/comments.py", ("pipelines/extract/comments.py",),
          ("tests/test_comments.py", "tests/test_extract.py", "tests/test_pages.py", "tests/test_metadata.py",
           "tests/test_extract_speed.py")),
)

CAUGHT = {"killed", "timeout"}


@dataclass
class Outcome:
    """What mutmut reported for one group."""

    group: Group
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        """Mutants with one of ``statuses``."""
        return sum(1 for s in self.statuses.values() if s in statuses)


def repository_files() -> list[str]:
    """Tracked files and untracked ones git does not ignore: the working tree as it is."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line and (REPO / line).is_file()]


def scratch_copy(group: Group, root: Path) -> Path:
    """A copy of the repository with mutmut configured for ``group``."""
    copy = root / re.sub(r"[^A-Za-z0-9]+", "_", group.name)
    for name in repository_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    tests = [t for t in group.tests if (copy / t).exists()]
    lines = ["[mutmut]", "source_paths=" + "\n    ".join(group.paths),
             "pytest_add_cli_args_test_selection=" + "\n    ".join(tests),
             # README.md: tests run the README's examples (mutmut runs the tests inside copy/mutants)
             "also_copy=crawler\n    pipelines\n    tests\n    README.md"]
    (copy / "setup.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy


def mutmut(copy: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run mutmut in ``copy``; its mutants (``copy/mutants``) come first on every import path."""
    # The copy (unmutated) on the path: mutmut imports the mutants itself; a test that starts the console
    # script runs the copy's code, which mutmut's trampolines cannot reach across processes anyway.
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([str(Path(sys.executable).parent / "mutmut"), *args], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_group(group: Group, root: Path, jobs: int, timeout: float) -> Outcome:
    """Mutate one group, run its tests against each mutant, collect the statuses and survivors' diffs."""
    started = time.monotonic()
    copy = scratch_copy(group, root)
    run = mutmut(copy, "run", "--max-children", str(jobs), timeout=timeout)
    if run.returncode != 0:
        # Typically the stats phase: a test of the group fails inside mutmut's copy, and every mutant
        # would be reported "not checked". Say why instead of printing a table of zeros.
        raise RuntimeError(f"mutmut run failed for {group.name} (exit {run.returncode}):\n"
                           + "\n".join((run.stdout + run.stderr).splitlines()[-40:]))
    outcome = Outcome(group)
    listing = mutmut(copy, "results", "--all", "true").stdout
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            outcome.statuses[name] = status.strip()
    for name, status in outcome.statuses.items():
        if status not in CAUGHT:
            shown = mutmut(copy, "show", name).stdout
            outcome.diffs[name] = "\n".join(line for line in shown.splitlines()
                                            if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    outcome.seconds = time.monotonic() - started
    return outcome


def equivalents() -> dict[str, dict[str, str]]:
    """``{group: {mutated line (the '+' line, stripped): reason}}`` of mutants judged equivalent."""
    if not EQUIVALENT_FILE.exists():
        return {}
    return json.loads(EQUIVALENT_FILE.read_text(encoding="utf-8"))


def equivalent_reason(outcome: Outcome, name: str, known: dict[str, dict[str, str]]) -> str | None:
    """Why the surviving mutant ``name`` is equivalent, or None."""
    added = [line[1:].strip() for line in outcome.diffs.get(name, "").splitlines() if line.startswith("+")]
    reasons = known.get(outcome.group.name, {})
    return next((reasons[line] for line in added if line in reasons), None)


def report(outcomes: list[Outcome], show: int) -> int:
    """Print the table and the survivors; return how many groups are under 90 %."""
    known = equivalents()
    print(f"{'module':34} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} {'no tests':>8} "
          f"{'equiv.':>6} {'score':>6} {'time':>6}")
    below = 0
    for outcome in outcomes:
        equivalent = [n for n in outcome.statuses if outcome.statuses[n] not in CAUGHT
                      and equivalent_reason(outcome, n, known)]
        total = len(outcome.statuses) - len(equivalent)
        caught = outcome.count(*CAUGHT)
        score = caught / total if total else 0.0
        below += score < 0.9
        print(f"{outcome.group.name:34} {len(outcome.statuses):7} {outcome.count('killed'):6} "
              f"{outcome.count('timeout'):7} {outcome.count('survived'):8} {outcome.count('no tests'):8} "
              f"{len(equivalent):6} {score:6.1%} {outcome.seconds:5.0f}s")
    for outcome in outcomes:
        survivors = [n for n, s in outcome.statuses.items() if s not in CAUGHT
                     and not equivalent_reason(outcome, n, known)]
        if survivors:
            print(f"\n== {outcome.group.name}: {len(survivors)} not caught"
                  + (f" (first {show})" if len(survivors) > show else ""))
            for name in survivors[:show]:
                print(f"-- {name} [{outcome.statuses[name]}]\n{outcome.diffs.get(name, '')}")
    return below


def main(argv: list[str] | None = None) -> int:
    """Run the mutation groups asked for (default: all) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=[g.name for g in GROUPS],
                        help="only this group (repeatable; default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one group may take at most")
    parser.add_argument("--show-survivors", type=int, default=40, help="survivors listed per group at most")
    parser.add_argument("--check", action="store_true", help="exit 1 when a group scores under 90 %%")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (their path is printed)")
    args = parser.parse_args(argv)
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        print("mutations: mutmut is missing: pip install -e '.[test]'", file=sys.stderr)
        return 2
    groups = [g for g in GROUPS if not args.module or g.name in args.module]
    root = Path(tempfile.mkdtemp(prefix="autonews-mutations-"))
    try:
        outcomes = [run_group(group, root, args.jobs, args.timeout) for group in groups]
    finally:
        if args.keep:
            print(f"scratch copies kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    below = report(outcomes, args.show_survivors)
    return 1 if args.check and below else 0


if __name__ == "__main__":
    sys.exit(main())
