#!/usr/bin/env python3
"""Writes the tiny ONNX recogniser the operator-model tests run: a 3x112x112 input averaged over
14x14 blocks and flattened, so its "embedding" is the 192 block means of the aligned face, in the
input's channel order. Linear on purpose: a test can predict what any colour order, mean and scale
do to it.

Usage: make-test-onnx.py OUT.onnx [SIDE] [BLOCK]   (defaults 112 and 14)
"""
import sys

import onnx
from onnx import TensorProto, helper


def main():
    out = sys.argv[1]
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 112
    block = int(sys.argv[3]) if len(sys.argv) > 3 else 14
    cells = side // block
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[block, block], strides=[block, block]),
            helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
        ],
        "simverify-test-recogniser",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 3 * cells * cells])],
    )
    model = helper.make_model(graph, producer_name="simverify-tests", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
