"""`python -m archive` does what the `archive` command does."""

from archive.cli import main

main()
