"""Graph IR helpers: the op table and its ONNX rules (rules.py), validation, the numpy
interpreter and shape inference, optimisation passes and the planner that turns a Model into a
C++ plan."""
