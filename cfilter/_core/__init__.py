"""Compiled loops of cfilter.  Private: only cfilter's Python layer calls them,
after validating every argument."""
