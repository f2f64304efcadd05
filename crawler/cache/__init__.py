"""The HTTP cache of discovery pages (feeds, sitemaps, sections): stored without pickle and without secrets."""
