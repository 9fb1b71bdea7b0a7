"""spark-submit entry point for the whole pipeline (ingest, rfm, cluster, report)."""

import sys

from custseg.cli import job_main

if __name__ == "__main__":
    sys.exit(job_main("run"))
