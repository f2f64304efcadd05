"""Article discovery from feeds and sitemaps: pure parsers over untrusted bytes (safe XML and gzip).
"""
