"""The compiler: flows become immutable, validated execution graphs."""

from greenflow.compiler._compiler import (
    ARG_FROM_ATOM,
    ARG_FROM_INJECT,
    ARG_FROM_STORE,
    JOIN,
    RETRY,
    TASK,
    ArgSource,
    BoundFlow,
    CompiledFlow,
    DeciderEdge,
    FlowCompiler,
    Node,
    bind_flow,
    compile_flow,
    flow_shape,
)

__all__ = [
    "ARG_FROM_ATOM",
    "ARG_FROM_INJECT",
    "ARG_FROM_STORE",
    "JOIN",
    "RETRY",
    "TASK",
    "ArgSource",
    "BoundFlow",
    "CompiledFlow",
    "DeciderEdge",
    "FlowCompiler",
    "Node",
    "bind_flow",
    "compile_flow",
    "flow_shape",
]
