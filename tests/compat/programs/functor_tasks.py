"""Tasks made from functions: ``FunctorTask`` (with revert), ``MapFunctorTask``, ``ReduceFunctorTask``."""

from taskflow import engines, task
from taskflow.patterns import linear_flow


def make_list(count):
    return list(range(1, count + 1))


def undo_list(count, **kwargs):
    print(f"undo list of {count}")


def fail():
    raise RuntimeError("functor failed")


flow = linear_flow.Flow("functors").add(
    task.FunctorTask(make_list, name="make", provides="numbers", revert=undo_list),
    task.MapFunctorTask(lambda n: n * n, name="squares", requires=["a", "b", "c"], provides="squared"),
    task.ReduceFunctorTask(lambda x, y: x + y, name="sum", requires=["a", "b", "c"], provides="total"),
)
results = engines.run(flow, store={"count": 3, "a": 1, "b": 2, "c": 3})
print(results["numbers"], results["squared"], results["total"])

bad = linear_flow.Flow("bad").add(
    task.FunctorTask(make_list, name="make", provides="numbers", revert=undo_list),
    task.FunctorTask(fail, name="fail"),
)
try:
    engines.run(bad, store={"count": 2})
except RuntimeError as exc:
    print("raised:", exc)
