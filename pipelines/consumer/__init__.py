"""Reading the sealed output as a downstream consumer: named cursors over the manifest, at least once.

``from pipelines.consumer import Consumer`` is the Python API (and what ``autonews read`` uses;
README: Reading the output); :mod:`pipelines.consumer.cursor` keeps each consumer's position under
``<output>/consumers/``, :mod:`pipelines.consumer.lock` lets one reader per name run at a time.
"""

from pipelines.consumer.cursor import Cursor, CursorError
from pipelines.consumer.lock import ConsumerBusy
from pipelines.consumer.reader import AckError, Batch, Consumer, Entry, EntryError, Skipped

__all__ = ["AckError", "Batch", "Consumer", "ConsumerBusy", "Cursor", "CursorError", "Entry", "EntryError", "Skipped"]
