"""Layer 2, I/O: the Spark session, Delta reads and writes, locations, single-file reads,
table schemas, upgrades and comparison, and the console.

Imports only the core. The stages above it read and write tables through it.
"""
