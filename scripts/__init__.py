"""Command-line entry points: they parse arguments and call the library, nothing more."""
