"""An example race package: importing it registers its code paths, kernels and scenario."""

from outside_race import kernel, scenario  # noqa: F401
