"""Downloader middlewares and failure accounting: seen-URL skip, truncated gzip, redirect loops.
"""
