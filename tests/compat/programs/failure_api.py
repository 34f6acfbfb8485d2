"""``Failure``: an exception captured as a value, with TaskFlow's attributes."""

from taskflow.types import failure


def broken():
    try:
        {}["key"]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


try:
    broken()
except RuntimeError:
    fail = failure.Failure()

print(fail.exception_str, type(fail.exception).__name__, fail.exc_info[0].__name__)
print(fail.check(ValueError), fail.check(RuntimeError).__name__, fail.check("RuntimeError"))
print(fail.pformat())
print("Traceback" in fail.pformat(traceback=True), "broken" in fail.traceback_str)
print([c.exception_str for c in fail.causes])
copy = failure.Failure.from_dict(fail.to_dict())
print(
    copy.exception_str,
    copy.exception,
    copy.exception_str == fail.exception_str,
    copy.check(RuntimeError).__name__,
)
try:
    fail.reraise()
except RuntimeError as exc:
    print("reraised:", exc)
other = failure.Failure.from_exception(ValueError("v"))
print(other.pformat(), str(other))
