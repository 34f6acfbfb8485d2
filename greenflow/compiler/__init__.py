"""The compiler: flows become immutable, validated execution graphs."""

from greenflow.compiler._compiler import (
    ARG_FROM_ATOM,
    ARG_FROM_INJECT,
    ARG_FROM_STORE,
    JOIN,
    RETRY,
    TASK,
    ArgKind,
    ArgSource,
    CompiledFlow,
    DeciderEdge,
    FlowCompiler,
    Node,
    NodeKind,
    compile_flow,
)

__all__ = [
    "ARG_FROM_ATOM",
    "ARG_FROM_INJECT",
    "ARG_FROM_STORE",
    "JOIN",
    "RETRY",
    "TASK",
    "ArgKind",
    "ArgSource",
    "CompiledFlow",
    "DeciderEdge",
    "FlowCompiler",
    "Node",
    "NodeKind",
    "compile_flow",
]
