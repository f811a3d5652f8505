"""Int8 weights for an exported denoiser (onnxruntime's dynamic quantisation, done here).

    /usr/bin/python3 training/quantize.py models/diffuse-small/model.onnx [OUT.onnx]

Every MatMul by a stored weight (the Linear layers and the output head) becomes a
com.microsoft DynamicQuantizeMatMul: the weight is stored int8 with one scale per output
column (symmetric, zero point 0) and the activations are quantised to uint8 per call. On a
laptop CPU with VNNI this makes a forward pass about 1.8x faster and the file a third smaller;
`npm run bench` and `npm run model:eval` measure both (CHANGELOG has the numbers). Norm gains
stay float32.

The embedding is tied to the output head, so its int8 copy (made for the head's MatMul, one
scale per vocabulary row) also serves the lookup: Gather the token's int8 column, then scale
it. The float32 table is then not stored at all, which at a 16k vocabulary and width 512 is
33 MB of a 67 MB file (the int8 lookup is within half a quantisation step of the float one).

The quantised initializers are named after the parameter (`blocks.0.mlp.up.weight.int8`,
`.scale`, `.zero_point`), so `train.py --init-from` can read the weights back
(`dequantized_weights`): within half a quantisation step of the float32 originals.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

SUFFIXES = (".int8", ".scale", ".zero_point")


def quantize_weight(w_out_in):
    """[out, in] float weight -> ([in, out] int8, [out] float32 scale): w ~ (q * scale).T"""
    b = np.asarray(w_out_in, dtype=np.float32).T
    scale = np.abs(b).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(b / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def quantize_model(m):
    """Rewrites MatMul(x, Transpose(W)) with W an initializer, and Gather(W, ids) of a W that
    became int8 that way; returns how many weights were quantised."""
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    uses = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    nodes, dropped, added, done = [], set(), [], set()
    for n in g.node:
        t = producer.get(n.input[1]) if n.op_type == "MatMul" else None
        is_weight = (t is not None and t.op_type == "Transpose" and t.input[0] in inits
                     and [a.ints for a in t.attribute if a.name == "perm"] in ([], [[1, 0]]))
        if not is_weight:
            nodes.append(n)
            continue
        name = t.input[0]
        if name not in done:
            q, scale = quantize_weight(numpy_helper.to_array(inits[name]))
            added += [numpy_helper.from_array(q, name + ".int8"),
                      numpy_helper.from_array(scale, name + ".scale"),
                      numpy_helper.from_array(np.zeros(q.shape[1], np.int8), name + ".zero_point")]
            done.add(name)
        nodes.append(helper.make_node(
            "DynamicQuantizeMatMul", [n.input[0]] + [name + s for s in SUFFIXES], list(n.output),
            name=n.name + "_int8", domain="com.microsoft"))
        uses[t.output[0]] -= 1
        if uses[t.output[0]] == 0:
            dropped.add(id(t))
    nodes = [n for n in nodes if id(n) not in dropped]
    replace_graph(g, [new for n in nodes for new in int8_lookup(n, done, g, added)], added)
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(done)


def replace_graph(g, nodes, added):
    """`g` runs `nodes` now: the initializers no node reads any more go, the `added` ones join."""
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept + added)


def int8_lookup(node, quantised, g, added):
    """The nodes that replace an embedding lookup Gather(W, ids) when W is stored int8 as
    [dim, vocab] with one scale per vocabulary entry: [node] when it is not such a lookup."""
    if node.op_type != "Gather" or node.input[0] not in quantised:
        return [node]
    if any(a.name == "axis" and a.i != 0 for a in node.attribute):
        return [node]
    name, ids, out = node.input[0], node.input[1], node.output[0]
    rank = next((len(i.type.tensor_type.shape.dim) for i in g.input if i.name == ids), 2)
    p = node.name or name
    axes = p + "_int8_axes"
    added.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), axes))
    return [
        helper.make_node("Gather", [name + ".int8", ids], [p + "_int8_cols"], name=p + "_int8_gather", axis=1),
        # [dim, *ids] -> [*ids, dim]
        helper.make_node("Transpose", [p + "_int8_cols"], [p + "_int8_rows"], name=p + "_int8_transpose",
                         perm=list(range(1, rank + 1)) + [0]),
        helper.make_node("Cast", [p + "_int8_rows"], [p + "_int8_float"], name=p + "_int8_cast", to=onnx.TensorProto.FLOAT),
        helper.make_node("Gather", [name + ".scale", ids], [p + "_int8_scale"], name=p + "_int8_scale_gather", axis=0),
        helper.make_node("Unsqueeze", [p + "_int8_scale", axes], [p + "_int8_scale_col"], name=p + "_int8_unsqueeze"),
        helper.make_node("Mul", [p + "_int8_float", p + "_int8_scale_col"], [out], name=p + "_int8_mul"),
    ]


def dequantized_weights(initializers):
    """{name: float32 array} of every parameter in a (possibly quantised) graph's initializers."""
    arrays = {i.name: numpy_helper.to_array(i) for i in initializers}
    out = {k: v.copy() for k, v in arrays.items() if not k.endswith(SUFFIXES)}
    for k, q in arrays.items():
        if k.endswith(".int8"):
            name = k[: -len(".int8")]
            if name not in out:  # a float copy (the tied embedding) wins
                out[name] = (q.astype(np.float32) * arrays[name + ".scale"]).T.copy()
    return out


def quantize_file(src, dst):
    m = onnx.load(src)
    n = quantize_model(m)
    onnx.save(m, dst)
    return n


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) == 3 else src
    print(f"{dst}: {quantize_file(src, dst)} weights quantised to int8")
