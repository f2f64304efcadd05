"""The Scrapy project: the command line, the source registry, discovery, spiders, middlewares,
extensions and worker mode. Depends on ``pipelines``; never the other way round.
"""
