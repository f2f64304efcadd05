"""``autonews state stats|prune``: inspect or prune the dedupe state, SQLite file or Redis."""

from __future__ import annotations

import argparse
import json

from redis.exceptions import RedisError

from crawler.ages import parse_age
from crawler.cli.exitcodes import EXIT_FAILED, EXIT_USAGE, UsageError, eprint
from pipelines.state.backend import prune_state, state_stats
from pipelines.state.location import resolve_state


def run(args: argparse.Namespace) -> int:
    """Print state statistics or prune entries first seen before ``--older-than``."""
    uri = resolve_state(args.state, args.output)
    options = {"prefix": args.prefix} if args.prefix else {}
    if args.action == "prune" and not args.older_than:
        raise UsageError("state prune needs --older-than AGE (e.g. 90d): how old an entry must be to go")
    try:
        older_than = parse_age(args.older_than) if args.older_than else None
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    try:
        if args.action == "stats":
            print(json.dumps(state_stats(uri, **options), indent=2))
        else:
            print(json.dumps({"pruned": prune_state(uri, older_than, **options)}))
    except FileNotFoundError:
        eprint(f"autonews: no state at {uri}")
        return EXIT_USAGE
    except RedisError as exc:
        eprint(f"autonews: error: cannot use Redis: {exc}")
        return EXIT_FAILED
    return 0
