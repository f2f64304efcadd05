"""Extensions that report on a crawl: the exit status and summary, and the run report.
"""
