"""Layer 4, the commands: the CLI, the pipeline, export, keys, status, demo, validate and
preflight. The only layer that may import several stages, and the only one that exits.
"""
