"""What makes a page an article rather than a section front, a stub or an error page.

A module of its own (no imports) so ``crawler/settings.py`` can declare its setting from it.
"""

MIN_TEXT_CHARS = 300
"""Main text shorter than this (CJK counted three per character) is not an article."""
MIN_PARAGRAPHS = 2
"""Nor is one with fewer paragraphs."""
