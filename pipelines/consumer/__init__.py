"""Reading the sealed output as a downstream consumer: named cursors over the manifest, at least once.

``pipelines.consumer.reader.Consumer`` is the Python API (and what ``autonews read`` uses);
``pipelines.consumer.cursor`` keeps each consumer's position under ``<output>/consumers/``.
"""
