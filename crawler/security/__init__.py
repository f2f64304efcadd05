"""What keeps a crawl from being turned against its own host (README "Security").

- ``addresses``: which IP addresses are public, and the operator's exceptions (``AUTONEWS_PRIVATE_HOSTS``);
- ``resolver``: the DNS resolver that refuses non-public answers at connection time;
- ``guard``: the downloader middleware that refuses non-http(s) URLs and non-public IP literals;
- ``redact``: secrets (passwords in URLs) taken out of every message, log line and report;
- ``names``: names that become parts of file paths, validated.
"""
