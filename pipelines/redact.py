"""Secrets out of messages: passwords in URLs (``redis://:S3cr3t@host``) and secret query parameters.

Cron mails stderr and log files are read by more people than the ones who hold the Redis
password, so every message, log line and report that may carry a URL goes through
:func:`redact` (log records through ``crawler.security.logs``).
"""

from __future__ import annotations

import re

# scheme://user:password@  and  scheme://:password@  (the user name stays: it is not a secret)
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s'\"]*):(?P<secret>[^@/\s'\"]+)@")
# ?password=... &token=... (redis-py also takes the password as a query parameter)
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|token|secret|access_key|api_key)=)[^&#\s'\"]+",
                           re.IGNORECASE)
MASK = "***"


def redact(text: str) -> str:
    """Return ``text`` with URL passwords and secret query parameters replaced by ``***``."""
    if "@" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('head')}{MASK}", text)
