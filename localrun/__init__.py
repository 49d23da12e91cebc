"""Run a compiled KFP pipeline locally, step by step, against a cluster (see localrun/README.md)."""
