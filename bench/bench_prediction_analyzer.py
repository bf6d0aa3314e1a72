"""How fast the old API's `PredictionAnalyzer` reads a storage, against a `json.loads` loop.

    .venv/bin/python bench/bench_prediction_analyzer.py [--records N] [--window N] [--keep]

Writes a seeded storage of N records (the layout of `bench_decode.py`: features,
probabilities, metadata, late labels) under `bench/data/`, then times:

- baseline: `for line in f: json.loads(line)`, what the old module's analyzer did per line;
- `analyze_predictions(window)`: one read with the tail source, the newest `window`
  predictions kept, the engines run on them;
- `analyze_predictions(time_window=...)` over the whole storage (the window capped at
  100,000 predictions).

and prints records/s for each, the ratio to the baseline, and peak RSS after each phase (the
window is bounded: RSS must not grow with the storage).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from bench_decode import json_loads_loop, peak_rss_mib, timed, write_storage

from neural_tui import PredictionAnalyzer

DATA = Path(__file__).parent / "data" / "prediction_analyzer"
NOW = 1_700_000_000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    path = write_storage(DATA, args.records)
    print(f"{path}: {path.stat().st_size / (1 << 20):,.0f} MiB, "
          f"peak RSS after writing {peak_rss_mib():.1f} MiB")
    end = NOW + args.records * 0.01
    analyzer = PredictionAnalyzer(DATA, clock=lambda: end)
    try:
        baseline = timed("json.loads loop (baseline)", lambda: json_loads_loop(path))
        newest = timed(f"analyze_predictions({args.window})", lambda: args.records if
                       analyzer.analyze_predictions(window=args.window)["status"] == "ok"
                       else 0)
        every = timed("analyze_predictions(time_window)", lambda: args.records if
                      analyzer.analyze_predictions(time_window=end - NOW + 1)["status"] == "ok"
                      else 0)
        print(f"ratio: window {newest / baseline:.1f}x, time window {every / baseline:.1f}x "
              "the json.loads loop")
    finally:
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
