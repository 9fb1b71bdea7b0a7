"""spark-submit entry point for the report stage: `spark-submit jobs/report.py --conf conf/cluster.yaml`."""

import sys

from custseg.cli import job_main

if __name__ == "__main__":
    sys.exit(job_main("report"))
