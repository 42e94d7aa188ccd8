"""FastAPI service, worker loop and the `aew` command line."""
