#!/usr/bin/env bash
# Builds the plain-text corpora bert-mlm-small was pre-trained on (one text per line), from the
# redistributable GLUE and UD files in ../shared/data (see their SOURCES.md):
#   train.txt  GLUE *train* texts (SST-2, CoLA, MRPC, RTE, STS-B; each sentence of a pair on its own line)
#              + UD English-EWT *dev* sentences (# text = …). The UD test split is left out: probes and
#              syntax score on it.
#   dev.txt    held-out text for MLM accuracy/perplexity: every 6th line of the GLUE *dev* texts
#              (SST-2, CoLA, MRPC, RTE, STS-B).
# Lines with fewer than 3 words (SST-2's many one- and two-word sub-phrases) are dropped.
# Usage: bash models/bert-mlm-small/make_corpus.sh SHARED_DATA_DIR OUT_DIR
set -euo pipefail
data=${1:?shared data dir (…/shared/data)}
out=${2:?output dir}
g=$data/glue
mkdir -p "$out"
texts() { # split: train|dev
  tail -n +2 "$g/SST-2/$1.tsv" | cut -f1
  cut -f4 "$g/CoLA/$1.tsv"
  tail -n +2 "$g/MRPC/$1.tsv" | cut -f4,5 | tr '\t' '\n'
  tail -n +2 "$g/RTE/$1.tsv" | cut -f2,3 | tr '\t' '\n'
  tail -n +2 "$g/STS-B/$1.tsv" | cut -f8,9 | tr '\t' '\n'
}
keep() { awk 'NF >= 3'; }
{ texts train; sed -n 's/^# text = //p' "$data/ud/en_ewt/en_ewt-ud-dev.conllu"; } | keep > "$out/train.txt"
texts dev | keep | awk 'NR % 6 == 0' > "$out/dev.txt"
wc -l "$out/train.txt" "$out/dev.txt"
