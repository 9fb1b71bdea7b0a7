"""report stage of custseg."""
