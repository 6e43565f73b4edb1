"""Checks an ONNX file with onnx's checker and writes the logits onnxruntime computes for a batch of inputs.
Usage: onnx_logits.py MODEL.onnx INPUTS.f32 OUT.f32 (raw little-endian float32; the input shape comes from the
model's "input", the batch size from the file's length)."""
import sys

import numpy as np
import onnx
import onnxruntime


def main(model_path, inputs_path, out_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    inputs = np.fromfile(inputs_path, dtype="<f4").reshape([-1] + dims)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": inputs})
    logits.astype("<f4").tofile(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
