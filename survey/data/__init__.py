"""The data layer: codebooks and vendor mappings, reading and validating files, the database, synthetic waves."""
