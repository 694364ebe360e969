"""What every graph pass is built from: the producer / consumer index of a graph, the loop
that applies one rewrite at a time until none applies (`rewrite_pass`), and node edits.

A pass is a function Model -> Model that returns a new Model and never modifies its input:
nodes are copied (Model.copy) and changed weights are new arrays under new names; `finish_pass`
drops the initializers a pass stopped reading.
"""
from __future__ import annotations

import collections

from ..model import Model, Node
from .shape_inference import analyze


class Index:
    """Producers, consumers and graph outputs of a graph (rebuilt after every rewrite)."""

    def __init__(self, g):
        self.g = g
        self.producer = {}
        self.uses = collections.defaultdict(list)
        for i, n in enumerate(g.nodes):
            for t in n.outputs:
                if t:
                    self.producer[t] = i
            for t in n.inputs:
                if t:
                    self.uses[t].append(i)
        self.outputs = {v.name for v in g.outputs}
        self.inputs = {v.name for v in g.inputs}

    def node_of(self, t):
        i = self.producer.get(t)
        return None if i is None else self.g.nodes[i]

    def private(self, t):
        """True when `t` is used by exactly one node input and is not a graph output."""
        return len(self.uses.get(t, ())) == 1 and t not in self.outputs

    def const(self, t):
        return self.g.initializers.get(t) if t else None


def unique_name(g, base):
    taken = set(g.initializers) | {v.name for v in g.inputs} | \
        {t for n in g.nodes for t in n.outputs}
    name, k = base, 1
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    return name


def used_names(g):
    used = {t for n in g.nodes for t in n.inputs if t}
    return used | {v.name for v in g.outputs}


def finish_pass(before: Model, after: Model) -> Model:
    """Drops the initializers that `after` no longer uses but `before` did (weights a pass
    replaced); initializers already unused before are eliminate_dead_nodes' business."""
    was = used_names(before.graph)
    now = used_names(after.graph)
    after.graph.initializers = {k: v for k, v in after.graph.initializers.items()
                                if k in now or k not in was}
    return after


def rewrite_pass(pass_fn):
    """Runs `find(model_copy, index, info)` until it finds nothing; each call applies one
    rewrite to the copy and returns True."""
    def run(model: Model) -> Model:
        m = model.copy()
        info = analyze(m) if pass_fn.needs_info else None
        limit = 4 * len(m.graph.nodes) + 16
        while limit and pass_fn(m, Index(m.graph), info):
            limit -= 1
        return finish_pass(model, m)
    run.__name__ = pass_fn.__name__
    run.__doc__ = pass_fn.__doc__
    return run


def needs_info(flag):
    def deco(fn):
        fn.needs_info = flag
        return fn
    return deco


def remove_nodes(g, nodes):
    ids = {id(n) for n in nodes}
    g.nodes = [n for n in g.nodes if id(n) not in ids]


def rename_input(g, old, new):
    for n in g.nodes:
        n.inputs = [new if t == old else t for t in n.inputs]


def replace_node(g, old: Node, new: Node):
    g.nodes[g.nodes.index(old)] = new
