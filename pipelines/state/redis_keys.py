"""Every Redis key a distributed crawl uses, in one place, under one prefix (``AUTONEWS_REDIS_PREFIX``).

Dedupe state (``pipelines.state.redis_store`` and its Lua scripts, which build the same names
from the prefix inside Redis): ``P:doc:<id>`` article documents, ``P:u:<hhhh>`` / ``P:f:<hhhh>`` /
``P:b:<hhhh>`` URL, fingerprint and band index buckets, ``P:m:<hhhh>`` what is remembered per URL
beside the articles (re-fetch checks, pages that are not articles), ``P:count`` counters, ``P:live`` the
worker instances' heartbeats. Crawl side (``crawler.distributed``): ``P:<spider>:requests`` and
``P:<spider>:dupefilter`` (scrapy-redis scheduler), ``P:lock:<worker id>`` worker leases,
``P:round`` the current round, ``P:warc:{files,queue,claims}`` the backfill's WARC files, ``P:stats:<round>`` and ``P:stats:<round>:workers`` its counters.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "autonews"
DEFAULT_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a worker instance counts as dead."""


@dataclass(frozen=True)
class RedisKeys:
    """Key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    @property
    def live(self) -> str:
        """Sorted set of worker instances by last heartbeat (Redis server time, ms)."""
        return f"{self.prefix}:live"

    @property
    def count(self) -> str:
        """Hash of article, URL and fingerprint counters."""
        return f"{self.prefix}:count"

    @property
    def docs(self) -> str:
        """Pattern matching every article document."""
        return f"{self.prefix}:doc:*"

    def doc(self, doc_id: str) -> str:
        """One article document."""
        return f"{self.prefix}:doc:{doc_id}"

    def url_bucket(self, url_hash: bytes) -> str:
        """The URL index bucket of an 8-byte URL hash (its field: the hash's last 6 bytes), as the Lua scripts name it."""
        return f"{self.prefix}:u:{url_hash[:2].hex()}"

    def url_memory(self, url_hash: bytes) -> str:
        """The bucket of what is remembered per URL (``UrlMemory``) for an 8-byte URL hash (field: its last 6 bytes)."""
        return f"{self.prefix}:m:{url_hash[:2].hex()}"

    @property
    def url_memories(self) -> str:
        """Pattern matching every ``url_memory`` bucket."""
        return f"{self.prefix}:m:*"

    @property
    def warc_files(self) -> str:
        """Hash of the backfill's progress per WARC file (name -> JSON), shared by every worker."""
        return f"{self.prefix}:warc:files"

    @property
    def warc_queue(self) -> str:
        """List of the WARC files (JSON) a distributed backfill still has to hand out."""
        return f"{self.prefix}:warc:queue"

    @property
    def warc_claims(self) -> str:
        """Hash of the WARC files being read: name -> the worker instance reading it."""
        return f"{self.prefix}:warc:claims"

    @property
    def round(self) -> str:
        """Number of the current round."""
        return f"{self.prefix}:round"

    @property
    def queue_template(self) -> str:
        """The scheduler's request queue, as the ``%(spider)s`` template scrapy-redis expects."""
        return f"{self.prefix}:%(spider)s:requests"

    @property
    def dupefilter_template(self) -> str:
        """The scheduler's request dupefilter, as a ``%(spider)s`` template."""
        return f"{self.prefix}:%(spider)s:dupefilter"

    def queue(self, spider: str) -> str:
        """The request queue of ``spider``."""
        return self.queue_template % {"spider": spider}

    def dupefilter(self, spider: str) -> str:
        """The request dupefilter of ``spider``."""
        return self.dupefilter_template % {"spider": spider}

    def lock(self, worker: str) -> str:
        """The lease of one worker id."""
        return f"{self.prefix}:lock:{worker}"

    @property
    def stats_prefix(self) -> str:
        """What :meth:`stats` puts before the round number (for the election script, which makes rounds)."""
        return f"{self.prefix}:stats:"

    def stats(self, round_number: int) -> str:
        """Summed counters of a round."""
        return f"{self.stats_prefix}{round_number}"

    def stats_workers(self, round_number: int) -> str:
        """Set of the worker instances that reported to a round."""
        return f"{self.prefix}:stats:{round_number}:workers"
