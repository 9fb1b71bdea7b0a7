"""ingest stage of custseg."""
