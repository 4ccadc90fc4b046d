"""`python -m mmfuzz`: the same as the `mmfuzz` command."""

import sys

from mmfuzz.cli import main

sys.exit(main())
