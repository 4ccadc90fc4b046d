"""Kernel source directory mirror."""
