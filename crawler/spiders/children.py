"""Child sitemaps of a sitemap index, released to the scheduler a few at a time per source.

An index lists all its children at once. Queued together, they are all downloaded before the
first is parsed (a local or fast site serves 40 in the time one is read), so a source's cap could
never stop them: a 1,000-child index of 50,000 URLs each cost 1,000 downloads and 50 million
parsed URLs although the first child already filled ``AUTONEWS_MAX_ARTICLES_PER_SOURCE``. Here a
source has at most `CHILDREN_IN_FLIGHT` children requested at a time; the next one is released when
one is answered (parsed or failed), and none once the source is full. Only URLs wait, not requests
(an index may list 50,000 children).

Pure bookkeeping, per process: in distributed mode another worker may answer a child this one
released, so the spider also releases the next ones when it goes idle (:meth:`ChildSitemaps.idle`).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque

CHILDREN_IN_FLIGHT = 2
"""Child sitemaps of one source requested at a time."""


class ChildSitemaps:
    """Per source: child sitemap URLs waiting, and how many are requested and not yet answered."""

    def __init__(self, in_flight: int = CHILDREN_IN_FLIGHT) -> None:
        """``in_flight``: children of one source requested at a time."""
        self.in_flight = in_flight
        self.waiting: defaultdict[str, deque[str]] = defaultdict(deque)
        self.flying: Counter[str] = Counter()

    def add(self, source: str, urls: list[str]) -> None:
        """Queue the children an index of ``source`` lists, in document order."""
        self.waiting[source].extend(urls)

    def answered(self, source: str) -> None:
        """One child of ``source`` was answered (parsed, skipped or failed): a slot is free."""
        if self.flying[source] > 0:
            self.flying[source] -= 1

    def take(self, source: str) -> list[str]:
        """The children of ``source`` to request now (counted as in flight)."""
        waiting, taken = self.waiting[source], []
        while waiting and self.flying[source] < self.in_flight:
            taken.append(waiting.popleft())
            self.flying[source] += 1
        return taken

    def drop(self, source: str) -> int:
        """Forget the children of ``source`` still waiting (its cap is full); return how many."""
        dropped = len(self.waiting[source])
        self.waiting[source].clear()
        return dropped

    def idle(self) -> list[str]:
        """Sources with children waiting, their slots freed: the spider is idle, so none of them is in
        flight from this process (another worker may have answered them)."""
        sources = [name for name, waiting in self.waiting.items() if waiting]
        for name in sources:
            self.flying[name] = 0
        return sources
