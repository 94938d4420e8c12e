"""The pipeline layer: the run configuration and the steps of a run, defined once for the CLI and the flows."""
