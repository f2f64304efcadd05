"""The download stage's own pieces: the http(s) handler Scrapy is told to use (``DOWNLOAD_HANDLERS``)."""
