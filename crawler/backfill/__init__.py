"""WARC input for ``autonews backfill``: which files (``files``), fetched how (``http``), which records
(``select``, ``records``), in which order and by whom (``plan``, ``distributed``), and how far (``progress``).

The spider that turns records into page items is ``crawler.spiders.backfill``.
"""
