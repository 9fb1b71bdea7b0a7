#!/usr/bin/env bash
# Submits a custseg job with spark-submit. spark-submit's own options come first, then the
# job and the job's arguments:
#
#   scripts/submit.sh [spark-submit options] jobs/<stage>.py --conf FILE [--set k=v]...
#   scripts/submit.sh --master spark://host:7077 --executor-memory 2g \
#       jobs/pipeline.py --conf conf/cluster.yaml --set rfm.as_of=2024-07-01
#
# It packages lib/ as dist/custseg.zip for --py-files and adds what every custseg session
# needs unless the options already set it: Delta's package (from the same Ivy cache
# scripts/setup.sh filled, so no network after set-up), Delta's SQL extension and catalog,
# Delta snapshot partitions sized to the executor cores, and a redaction pattern that hides
# the hash key's variable from the UI and event logs. The key itself never goes on the
# command line: the driver reads it from its environment (CUSTSEG_HASH_KEY) or a key file.
#
# Python on the executors needs numpy, pandas and pyarrow (the sweep's silhouettes are a
# mapInPandas):
#   - local master (or none given): this repository's .venv python is used;
#   - a cluster whose nodes have such a python: --conf spark.pyspark.python=/path/to/python;
#   - otherwise ship one: CUSTSEG_EXECUTOR_ENV=custseg-env.tar.gz (a venv packed with
#     venv-pack or conda-pack) adds --archives custseg-env.tar.gz#environment and
#     spark.pyspark.python=./environment/bin/python.
# The submitting machine's python paths are never handed to executors on a cluster.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)  # paths given to the script stay relative to the caller
usage="usage: scripts/submit.sh [spark-submit options] jobs/<stage>.py --conf FILE [--set k=v]..."

# spark-submit options: flags without a value, everything else takes one (--opt v or --opt=v).
options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --verbose|-v|--supervise|--help|-h|--version|--load-spark-defaults) options+=("$1"); shift ;;
    --*=*) options+=("$1"); shift ;;
    -*) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; options+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
job=$1; shift
[ -f "$job" ] || { echo "submit.sh: job file $job not found" >&2; exit 2; }

# The value given for a spark-submit option (last one wins), or for a --conf key.
option_value() {
  local name=$1 i value=""
  for ((i = 0; i < ${#options[@]}; i++)); do
    case "${options[$i]}" in
      "$name") value=${options[$((i + 1))]:-} ;;
      "$name"=*) value=${options[$i]#"$name"=} ;;
    esac
  done
  printf '%s' "$value"
}
conf_entry() {  # the last --conf KEY=VALUE given for KEY, empty when none
  local key=$1 i entry found=""
  for ((i = 0; i < ${#options[@]}; i++)); do
    case "${options[$i]}" in
      --conf|-c) entry=${options[$((i + 1))]:-} ;;
      --conf=*) entry=${options[$i]#--conf=} ;;
      *) continue ;;
    esac
    [[ "$entry" == "$key="* ]] && found=$entry
  done
  printf '%s' "$found"
}
conf_value() { local entry; entry=$(conf_entry "$1"); printf '%s' "${entry#"$1"=}"; }
conf_given() { [ -n "$(conf_entry "$1")" ]; }
# Removes every --NAME option from the options and prints their values joined by commas, so
# that a list custseg adds to (--packages, --py-files, --archives) keeps the user's entries.
taken=""
take_list_option() {
  local name=$1 i kept=() values=()
  for ((i = 0; i < ${#options[@]}; i++)); do
    case "${options[$i]}" in
      "$name") values+=("${options[$((i + 1))]:-}"); i=$((i + 1)) ;;
      "$name"=*) values+=("${options[$i]#"$name"=}") ;;
      *) kept+=("${options[$i]}") ;;
    esac
  done
  options=(${kept[@]+"${kept[@]}"})
  taken=$(IFS=,; printf '%s' "${values[*]:-}")
}
with_list() {  # "$1,$2" without empty parts
  if [ -n "$1" ] && [ -n "$2" ]; then printf '%s,%s' "$1" "$2"; else printf '%s' "$1$2"; fi
}

python=$repo/.venv/bin/python
if [ ! -x "$python" ]; then
  python=$(command -v python3) || { echo "submit.sh: no .venv and no python3 found" >&2; exit 2; }
fi

zip=$repo/dist/custseg.zip
mkdir -p "$repo/dist"
rm -f "$zip"
(cd "$repo/lib" && "$python" -m zipfile -c "$zip" custseg)

settings=$(PYTHONPATH="$repo/lib" "$python" - <<'EOF' 2>/dev/null || true
import os, pyspark
from custseg.layer2_io.spark import delta_maven_coordinate, jar_cache_dir, REDACTION_REGEX
print(delta_maven_coordinate()); print(jar_cache_dir()); print(REDACTION_REGEX)
print(os.path.dirname(pyspark.__file__))
EOF
)
coordinate=$(sed -n 1p <<<"$settings"); coordinate=${coordinate:-io.delta:delta-spark_4.2_2.13:4.4.0}
ivy=$(sed -n 2p <<<"$settings"); ivy=${ivy:-$HOME/.ivy2}
redaction=$(sed -n 3p <<<"$settings"); redaction=${redaction:-'(?i)secret|password|token|access[.]?key|hash[._]?key'}

extra=()
take_list_option --packages
user_packages=$taken
take_list_option --py-files
user_py_files=$taken
take_list_option --archives
user_archives=$taken
conf_given spark.jars.packages || extra+=(--packages "$(with_list "$user_packages" "$coordinate")")
conf_given spark.jars.ivy || extra+=(--conf "spark.jars.ivy=$ivy")
conf_given spark.sql.extensions || extra+=(--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension)
conf_given spark.sql.catalog.spark_catalog \
  || extra+=(--conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
conf_given spark.redaction.regex || extra+=(--conf "spark.redaction.regex=$redaction")

master=$(option_value --master)
deploy_mode=$(option_value --deploy-mode)
# Delta rebuilds a table's file list from its log in this many partitions (default 50:
# thousands of tiny tasks over a run). A local master gets 1, as local sessions started by
# custseg itself (custseg.layer2_io.spark); a cluster one per executor core, at least 2,
# when the cores are known from the options.
cluster_cores() {
  local cores executors per_executor
  cores=$(option_value --total-executor-cores)
  cores=${cores:-$(conf_value spark.cores.max)}
  executors=$(option_value --num-executors)
  executors=${executors:-$(conf_value spark.executor.instances)}
  if [ -z "$cores" ] && [ -n "$executors" ]; then
    per_executor=$(option_value --executor-cores)
    per_executor=${per_executor:-$(conf_value spark.executor.cores)}
    cores=$((executors * ${per_executor:-1}))
  fi
  cores=${cores:-8}
  [ "$cores" -ge 2 ] 2>/dev/null || cores=2
  echo "$cores"
}
if ! conf_given spark.databricks.delta.snapshotPartitions; then
  case "$master" in
    local*|"") partitions=1 ;;
    *) partitions=$(cluster_cores) ;;
  esac
  extra+=(--conf "spark.databricks.delta.snapshotPartitions=$partitions")
fi

# Which python runs custseg: see the header. Local paths only where they exist.
if [ -n "${CUSTSEG_EXECUTOR_ENV:-}" ]; then
  user_archives=$(with_list "$user_archives" "$CUSTSEG_EXECUTOR_ENV#environment")
  conf_given spark.pyspark.python || extra+=(--conf spark.pyspark.python=./environment/bin/python)
elif ! conf_given spark.pyspark.python && [[ "$master" == local* || -z "$master" ]]; then
  extra+=(--conf "spark.pyspark.python=$python")
fi
[ -z "$user_archives" ] || extra+=(--archives "$user_archives")
if ! conf_given spark.pyspark.driver.python && [ "$deploy_mode" != cluster ]; then
  extra+=(--conf "spark.pyspark.driver.python=$python")  # client mode: the driver runs here
fi

spark_submit=${SPARK_SUBMIT:-}
if [ -z "$spark_submit" ]; then
  spark_submit=$(dirname "$python")/spark-submit
  if [ -x "$spark_submit" ]; then
    # pip's spark-submit finds its Spark through whatever python3 is on PATH: name it here
    pyspark_home=$(sed -n 4p <<<"$settings")
    [ -n "${SPARK_HOME:-}" ] || [ -z "$pyspark_home" ] || export SPARK_HOME=$pyspark_home
  else
    spark_submit=spark-submit
  fi
fi
exec "$spark_submit" ${options[@]+"${options[@]}"} "${extra[@]}" \
  --py-files "$(with_list "$zip" "$user_py_files")" "$job" "$@"
