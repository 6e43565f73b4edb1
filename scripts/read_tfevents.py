"""Reads the TensorBoard event files of a folder with TensorBoard's own code and prints what it found as JSON:
{"files": [...], "file_version": "...", "records": N, "scalars": {"tag": [[step, value, wall_time], ...]}}.
Every record is first read strictly (TensorBoard's record reader, which raises on a bad length or CRC, and its
Event protobuf); the scalars are then what TensorBoard's EventAccumulator, the loader behind its UI, returns.
The independent reader of EventFileTests; also handy by hand:
  .build/venv-tensorboard/bin/python scripts/read_tfevents.py runs/erm-seed0
"""
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow


def records(path):
    reader = pywrap_tensorflow.PyRecordReader_New(path.encode(), 0, b"", None)
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return
        yield reader.record()


def main(folder):
    files = sorted(f for f in os.listdir(folder) if "tfevents" in f)
    events = [event_pb2.Event.FromString(r) for f in files for r in records(os.path.join(folder, f))]
    # size_guidance 0: keep every scalar (the default samples at most 10 000 per tag).
    acc = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    json.dump({"files": files, "file_version": events[0].file_version if events else None, "records": len(events),
               "scalars": scalars}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
