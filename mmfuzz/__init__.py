"""mmfuzz: a stateful fuzzer for races in Linux memory-management code."""

__version__ = "0.1.0"
