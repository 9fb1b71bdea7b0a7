"""Layer 3, the stages: ingest, rfm, clustering and report.

Each imports the core and I/O, never another stage: stages share data only through the
Delta tables, so each one can be run, tested and changed alone.
"""
