"""The source registry: which sites to crawl and how to discover their articles (``sources.yaml``).
"""
