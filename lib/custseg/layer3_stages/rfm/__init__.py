"""rfm stage of custseg."""
