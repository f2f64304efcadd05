"""Spiders: ``news`` crawls the registry, ``scrape`` fetches given URLs once; both yield ``PageItem``.
"""
