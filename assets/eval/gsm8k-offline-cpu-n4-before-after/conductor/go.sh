#!/bin/bash
# Before (4e4b091) and after (8b7bc1b) engines, GSM8K 0-19, seed 0, the committed 3-seed eval's settings.
cd CONDUCTOR_DIR
for n in before after; do for k in ready go done; do rm -f $n.$k; mkfifo $n.$k; done; done  # the handshakes
PY=python  # the project's .venv; BEFORE_CHECKOUT and AFTER_CHECKOUT are worktrees at the two commits
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
(cd BEFORE_CHECKOUT && PYTHONPATH=BEFORE_CHECKOUT $PY CONDUCTOR_DIR/gated.py before eval --dataset gsm8k \
  --methods gsi,sbon-big --preset offline-cpu --n 4 --limit 20 --max-steps 12 \
  --out CONDUCTOR_DIR/before-run > CONDUCTOR_DIR/before.log 2>&1) &
(cd AFTER_CHECKOUT && PYTHONPATH=AFTER_CHECKOUT $PY CONDUCTOR_DIR/gated.py after eval --dataset gsm8k \
  --methods gsi,sbon-big --preset offline-cpu --reward step-verifier --n 4 --n-small 4 --n-big 4 --threshold 0.5 \
  --limit 20 --max-steps 12 --out CONDUCTOR_DIR/after-run > CONDUCTOR_DIR/after.log 2>&1) &
$PY CONDUCTOR_DIR/conduct.py > CONDUCTOR_DIR/conduct.log 2>&1
wait
echo finished $(date) >> CONDUCTOR_DIR/conduct.log
