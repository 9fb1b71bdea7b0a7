r"""spark-submit entry point for the rfm stage, with the arguments of `custseg rfm`.

    scripts/submit.sh --master spark://host:7077 jobs/rfm.py --conf conf/cluster.yaml

submit.sh zips lib/custseg into dist/custseg.zip and adds the settings listed in README.md,
"Running on a cluster". The same job with plain spark-submit, once dist/custseg.zip exists:

    spark-submit --master spark://host:7077 \
      --packages io.delta:delta-spark_4.2_2.13:4.4.0 \
      --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
      --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
      --py-files dist/custseg.zip jobs/rfm.py --conf conf/cluster.yaml
"""

import sys

from custseg.layer4_commands.cli import job_main

if __name__ == "__main__":
    sys.exit(job_main("rfm"))
