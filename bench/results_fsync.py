"""What making results.jsonl durable costs the caller (the event loop) per trial.

Writes the same N trial lines (taken from the v1 fixture run, ~1.5 KB each) four ways, in one
process, into a temp folder on the disk the run folders live on (``--dir``, default reports/):
1. floor: write + flush per line, never fsynced (what a killed process would keep anyway);
2. fsync inline: write + flush + os.fsync per line, in the caller (what "fsync per trial" in the
   event loop would cost);
3. ResultsWriter: write + flush per line in the caller, fsynced by its background thread at
   most every FSYNC_INTERVAL_S (the time the caller is blocked, then what `close()` takes);
4. the same with a 2 ms pause between lines (trials arriving as from a fast API; the pauses are
   not counted), and how many fsyncs it made, so the group size shows;
5. as 4, but the thread fsyncs after every line (interval 0): appends wait for the writeback.
Goal: ResultsWriter's caller time within 3x of the floor, and far below fsync inline.
Usage: python bench/results_fsync.py [--trials 1000] [--dir reports]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from agenteval.record.lines import FSYNC_INTERVAL_S
from agenteval.record.store import ResultsWriter, read_results, result_line

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "runs" / "v1-quickstart-trials2"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=ROOT / "reports")
    args = parser.parse_args()
    source = read_results(FIXTURE)
    rows = [source[i % len(source)] for i in range(args.trials)]
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        results = []
        for label, fsync in (("floor: write + flush", False), ("fsync inline per line", True)):
            path = folder / f"{fsync}.jsonl"
            with path.open("ab") as fh:
                start = time.perf_counter()
                for row in rows:
                    fh.write(result_line(row.case, row.trial).encode() + b"\n")
                    fh.flush()
                    if fsync:
                        os.fsync(fh.fileno())
                results.append((label, time.perf_counter() - start, None, None))
        for label, pause, interval in (
            ("ResultsWriter", 0.0, FSYNC_INTERVAL_S),
            ("ResultsWriter, 2 ms apart", 0.002, FSYNC_INTERVAL_S),
            ("thread fsync/line, 2 ms apart", 0.002, 0.0),
        ):
            run = folder / str(len(results))
            run.mkdir()
            writer = ResultsWriter(run, interval_s=interval)
            blocked = 0.0
            for row in rows:
                start = time.perf_counter()
                writer.write(row.case, row.trial)
                blocked += time.perf_counter() - start
                if pause:
                    time.sleep(pause)
            start = time.perf_counter()
            writer.close()
            closing = time.perf_counter() - start
            assert len(read_results(run)) == len({(r.case.id, r.trial.trial) for r in rows})
            results.append((label, blocked, closing, writer.fsyncs))
    floor = results[0][1]
    print(f"{args.trials} trial lines into {args.dir}")
    print(f"{'':30} {'caller ms':>10} {'per line':>9} {'x floor':>8} {'close ms':>9} {'fsyncs':>7}")
    for label, seconds, closing, fsyncs in results:
        print(
            f"{label:30} {seconds * 1000:10.1f} {seconds / args.trials * 1e6:7.1f}us "
            f"{seconds / floor:8.2f} "
            f"{'' if closing is None else f'{closing * 1000:9.1f}':>9} "
            f"{'' if fsyncs is None else fsyncs:>7}"
        )


if __name__ == "__main__":
    main()
