"""clustering stage of custseg."""
