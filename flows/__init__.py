"""Prefect flows of trygghet: thin wiring of the pipeline's step functions as tasks.

Importing this package changes nothing in the environment; Prefect's settings (PREFECT_HOME, analytics off,
start-up timeouts) come from the Makefile, `make serve` or the operator's profile.
"""
