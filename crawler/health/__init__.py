"""Run health per source, judged against the source's own history (README "Run health").

Pure modules, usable without a crawler: ``signals`` (what one run of a source measured),
``history`` (earlier run reports, one entry per run or distributed round), ``thresholds``
(the ``AUTONEWS_HEALTH_*`` settings), ``judge`` (status and reasons) and ``causes`` (error classes,
counts and fixes in the reasons). The run report
extension (``crawler.extensions.report``) calls them.
"""
