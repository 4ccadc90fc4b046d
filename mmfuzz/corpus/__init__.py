"""The race corpus: one JSON file per shrunk race, replayed forever without Hypothesis.

- ``schema``: the entry format and its validation (``Entry``, ``BadEntry``).
- ``signature``: what makes two findings the same race (de-duplication).
- ``minimize``: a last, Hypothesis-free shrink so one race has one canonical schedule.
- ``record``: a found race (``FuzzResult``) -> a checked ``Entry``.
- ``store``: atomic, exclusive writes and scanning of corpus folders.
- ``replay``: re-execute an entry on its versions (strict) or other ones (order).
"""

from .schema import SCHEMA, BadEntry, Entry  # noqa: F401
