"""spark-submit entry point for the cluster stage: `spark-submit jobs/cluster.py --conf conf/cluster.yaml`."""

import sys

from custseg.cli import job_main

if __name__ == "__main__":
    sys.exit(job_main("cluster"))
