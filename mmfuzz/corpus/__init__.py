"""The race corpus: one JSON file per shrunk race, replayed forever without Hypothesis.

- ``schema``: the entry format and its validation (``Entry``, ``BadEntry``).
- ``signature``: what makes two findings the same race (de-duplication).
- ``record``: a found race (``FuzzResult``) -> a replay-checked, minimized ``Entry``.
- ``execute``: run a schedule by task order, for replays on other versions.
- ``store``: atomic, exclusive writes and scanning of corpus folders.
- ``replay``: re-execute an entry on its versions (strict) or other ones (order).
"""

from .schema import SCHEMA, BadEntry, Entry  # noqa: F401
