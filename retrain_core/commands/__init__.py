"""Handlers of the `retrain` subcommands that need the heavy libraries (imported when they run)."""
