"""Graph IR helpers: the op table, validation, shape inference, optimisation passes and the
planner that turns a Model into a C++ plan."""
