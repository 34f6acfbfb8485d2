"""``PrintingListener`` prints each transition (uuids and the engine are masked for a stable output)."""

import contextlib
import io
import re

from taskflow import engines, task
from taskflow.listeners import printing
from taskflow.patterns import linear_flow


class Ok(task.Task):
    def execute(self):
        return 7


flow = linear_flow.Flow("printed").add(Ok("ok"))
engine = engines.load(flow)
out = io.StringIO()
with contextlib.redirect_stdout(out), printing.PrintingListener(engine):
    engine.run()
uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
for line in out.getvalue().splitlines():
    line = uuid.sub("UUID", line)
    print(re.sub(r"^<.*?> has moved", "ENGINE has moved", line))
