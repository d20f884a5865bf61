"""Sample-type codes of the compiled core, for the Python layer."""
