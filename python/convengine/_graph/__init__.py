"""Graph IR helpers: the op table (ops.py) and its ONNX rules (rules.py, rules_tensor.py,
rules_resize.py), validation, the numpy interpreter (evaluate.py, eval_*.py) and shape
inference, optimisation passes (passes*.py) and the planner that turns a Model into a C++ plan
(planner.py, its lowerings lower_*.py, memory.py, compiled.py)."""
