#!/usr/bin/env python3
"""Folds the constant (block-)dequantisations of an int8-quantised ONNX model into float32 initializers.

OpenCV 4.6's ONNX importer refuses DequantizeLinear. Every DequantizeLinear in OpenCV Zoo's
*_int8bq models reads initializers only (weights, per-block scales and zero points), so the
float32 weights it computes can be stored instead; a Reshape of such a constant is folded too.
The opset is lowered to 13, which every remaining operator (Conv, Relu, Resize, Gemm, ...) has.

Usage: fold-onnx.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def dequantize(x, scale, zero_point, axis, block_size):
    x = x.astype(np.float32)
    zero_point = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float32)
    if scale.ndim == 0:
        return (x - zero_point) * scale
    axis = axis % x.ndim
    if block_size:
        scale = np.repeat(scale, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero_point = np.repeat(zero_point, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
    else:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((x - zero_point) * scale).astype(np.float32)


def fold(model):
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    kept = []
    folded = 0
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        inputs = [name for name in node.input if name]
        if node.op_type == "DequantizeLinear" and all(name in constants for name in inputs):
            zero_point = constants[inputs[2]] if len(inputs) > 2 else None
            constants[node.output[0]] = dequantize(constants[inputs[0]], constants[inputs[1]], zero_point,
                                                   attributes.get("axis", 1), attributes.get("block_size", 0))
            folded += 1
        elif node.op_type == "Reshape" and all(name in constants for name in inputs) and node.input[0] in constants \
                and constants[node.input[0]].dtype == np.float32:
            constants[node.output[0]] = constants[inputs[0]].reshape(constants[inputs[1]].astype(np.int64))
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in sorted(constants.items())
                             if name in used and value.dtype != np.int8 and value.dtype != np.uint8)
    graph_inputs = [i for i in graph.input if i.name not in constants or i.name in used]
    del graph.input[:]
    graph.input.extend(graph_inputs)
    del model.opset_import[:]
    model.opset_import.extend([onnx.helper.make_opsetid("", 13)])
    model.ir_version = 7
    return folded


def main():
    model = onnx.load(sys.argv[1])
    count = fold(model)
    if any(n.op_type == "DequantizeLinear" for n in model.graph.node):
        sys.exit("fold-onnx: a DequantizeLinear reads a non-constant input; cannot fold")
    onnx.save(model, sys.argv[2])
    print(f"fold-onnx: {count} dequantisations folded into {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
