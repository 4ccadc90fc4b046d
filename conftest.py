"""Project-wide pytest set-up: the engine's toy scenarios live in tests/."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "tests"))
