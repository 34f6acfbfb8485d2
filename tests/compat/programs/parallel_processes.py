"""``executor='processes'`` runs tasks in other processes (tasks and results must pickle)."""

import os

from taskflow import engines, task
from taskflow.patterns import linear_flow, unordered_flow


class Square(task.Task):
    def execute(self, x):
        return (x * x, os.getpid() != PARENT)


class Sum(task.Task):
    def execute(self, s1, s2, s3):
        return sum(v for v, _ in (s1, s2, s3)), all(elsewhere for _, elsewhere in (s1, s2, s3))


# Inherited by the worker processes however they are started.
PARENT = int(os.environ.setdefault("COMPAT_PARENT_PID", str(os.getpid())))

if __name__ == "__main__":
    squares = unordered_flow.Flow("squares").add(
        *(Square(f"sq{i}", provides=f"s{i}", inject={"x": i}) for i in (1, 2, 3))
    )
    flow = linear_flow.Flow("sum-of-squares").add(squares, Sum(provides="total"))
    print(engines.run(flow, engine="parallel", executor="processes", max_workers=2)["total"])
