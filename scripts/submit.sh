#!/usr/bin/env bash
# Submits a custseg job to a cluster: packages lib/ as a zip for --py-files and adds the
# Delta package matching the pinned pyspark/delta-spark pair. Extra spark-submit options
# go in SPARK_SUBMIT_OPTS_EXTRA (e.g. "--master yarn --deploy-mode cluster").
#   scripts/submit.sh jobs/pipeline.py --conf conf/cluster.yaml [--set k=v]...
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/submit.sh jobs/<stage>.py --conf FILE [--set k=v]..." >&2; exit 2; }
job=$1; shift
mkdir -p dist
rm -f dist/custseg.zip
(cd lib && python3 -m zipfile -c ../dist/custseg.zip custseg)
python=.venv/bin/python
[ -x "$python" ] || python=python3
coordinate=$("$python" -c 'from custseg.spark import delta_maven_coordinate; print(delta_maven_coordinate())' 2>/dev/null \
  || echo "io.delta:delta-spark_4.2_2.13:4.4.0")
# The same Ivy cache as scripts/setup.sh filled, so a submit after set-up needs no network.
ivy=$("$python" -c 'from custseg.spark import jar_cache_dir; print(jar_cache_dir())' 2>/dev/null || echo "$HOME/.ivy2")
# Python on the executors needs pandas and pyarrow (the keyed hash is a pandas UDF); in local
# mode that is this venv's interpreter, on a cluster set PYSPARK_PYTHON to the nodes' one.
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$(cd "$(dirname "$python")" && pwd)/$(basename "$python")}
spark_submit=${SPARK_SUBMIT:-spark-submit}
command -v "$spark_submit" >/dev/null || spark_submit=.venv/bin/spark-submit
# shellcheck disable=SC2086
exec "$spark_submit" ${SPARK_SUBMIT_OPTS_EXTRA:-} \
  --packages "$coordinate" --conf "spark.jars.ivy=$ivy" \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  --py-files dist/custseg.zip \
  "$job" "$@"
