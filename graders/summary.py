"""The summary of a batch run: counts, reward statistics, error flags, judge usage.

Built row by row from output lines (``Summary.add``) in constant memory, and
mergeable (``Summary.merge``) so that worker processes summarise their own chunks
and the parent only adds the parts up. A resumed run rebuilds the summary of the
rows already written from the output file, so a summary always covers the whole file.

Numbers:

* mean, std (population, ddof=0), min and max are exact;
* percentiles use linear interpolation between order statistics (numpy's default);
  exact up to ``SAMPLE_CAP`` rows, beyond that taken from a uniform reservoir sample
  of ``SAMPLE_CAP`` rewards (``percentiles_exact`` says which);
* the histogram counts are exact over the grader's reward range (``[0, 1]``, or a
  score_model's ``range``); when rewards fall outside it, bins span ``[min, max]``
  and are computed from the sample.
"""

from __future__ import annotations

import heapq
import math
import random
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graders.models import (
    AnyGrader,
    LabelModelGrader,
    MultiGrader,
    ScoreModelGrader,
    TextSimilarityGrader,
)
from graders.results import ERROR_FLAGS

SAMPLE_CAP = 100_000
PERCENTILES = (10, 25, 50, 75, 90)
BINS = 10
EXAMPLES = 10  # lowest-scoring and errored rows kept for the report


class Distribution:
    """Streaming statistics of one series of numbers (a reward or a sub-reward)."""

    def __init__(self, lo: float = 0.0, hi: float = 1.0, bins: int = BINS) -> None:
        self.lo, self.hi = lo, hi
        self.n = 0
        self.nan = 0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean (Welford / Chan)
        self.min = math.inf
        self.max = -math.inf
        self.bins = [0] * bins
        self.below = 0
        self.above = 0
        self._per_unit = bins / (hi - lo) if hi > lo else 0.0  # bins per unit of reward
        self.sample = array("d")
        self._rng: random.Random | None = None  # made past SAMPLE_CAP only (keeps chunk summaries small)

    def add_many(self, xs: list[float]) -> None:
        """:meth:`add` each of ``xs``: built as a part with C-speed sums, then merged (a chunk of rows)."""
        values = [x for x in xs if x == x]
        self.nan += len(xs) - len(values)
        if not values:
            return
        part = Distribution(self.lo, self.hi, len(self.bins))
        part.n = len(values)
        part.mean = math.fsum(values) / part.n
        part.m2 = math.fsum([(x - part.mean) ** 2 for x in values])
        part.min, part.max = min(values), max(values)
        lo, hi, per_unit, bins, last = self.lo, self.hi, self._per_unit, part.bins, len(part.bins) - 1
        for x in values:
            if x < lo:
                part.below += 1
            elif x > hi:
                part.above += 1
            else:
                i = int((x - lo) * per_unit)
                bins[i if i < last else last] += 1
        part.sample = array("d", values)
        self.merge(part)

    def add(self, x: float) -> None:
        if x != x:  # NaN: counted, kept out of every statistic
            self.nan += 1
            return
        n = self.n = self.n + 1
        delta = x - self.mean
        self.mean += delta / n
        self.m2 += delta * (x - self.mean)
        if x < self.min:
            self.min = x
        if x > self.max:
            self.max = x
        if x < self.lo:
            self.below += 1
        elif x > self.hi:
            self.above += 1
        else:
            i = int((x - self.lo) * self._per_unit)
            bins = self.bins
            bins[i if i < len(bins) else -1] += 1
        self._offer(x)

    def _offer(self, x: float) -> None:
        # Reservoir sampling (algorithm R); ``n`` already counts x.
        if len(self.sample) < SAMPLE_CAP:
            self.sample.append(x)
        else:
            if self._rng is None:
                self._rng = random.Random(0)  # seeded: the same input gives the same summary
            j = self._rng.randrange(self.n)
            if j < SAMPLE_CAP:
                self.sample[j] = x

    def merge(self, other: Distribution) -> None:
        """Add ``other`` (a disjoint part of the same series) into this one."""
        self.nan += other.nan
        if not other.n:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.bins = [a + b for a, b in zip(self.bins, other.bins)]
        self.below += other.below
        self.above += other.above
        if n <= SAMPLE_CAP:
            self.sample.extend(other.sample)
            self.n = n
            return
        # Past the cap: offer other's sample values one by one, as if streamed.
        for x in other.sample:
            self.n += 1
            self._offer(x)
        self.n = n

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else math.nan

    @property
    def percentiles_exact(self) -> bool:
        return self.n <= SAMPLE_CAP

    def percentiles(self, qs: Iterable[float] = PERCENTILES) -> dict[str, float]:
        ordered = sorted(self.sample)
        return {f"p{q:g}": percentile(ordered, q) for q in qs} if ordered else {}

    def histogram(self) -> list[dict[str, Any]]:
        """``[{lo, hi, count}]``: exact fixed bins, or bins over [min, max] when rewards leave the range."""
        if not self.n:
            return []
        if not self.below and not self.above:
            edges = _edges(self.lo, self.hi, len(self.bins))
            return [{"lo": a, "hi": b, "count": c} for (a, b), c in zip(edges, self.bins)]
        lo, hi = self.min, self.max
        counts = [0] * len(self.bins)
        width = hi - lo
        for x in self.sample:
            i = int((x - lo) / width * len(counts)) if width > 0 else 0
            counts[min(i, len(counts) - 1)] += 1
        scale = self.n / len(self.sample)
        return [
            {"lo": a, "hi": b, "count": round(c * scale)} for (a, b), c in zip(_edges(lo, hi, len(counts)), counts)
        ]

    def to_json(self) -> dict[str, Any]:
        if not self.n:
            return {"count": 0, "nan": self.nan}
        return {
            "count": self.n,
            "nan": self.nan,
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            **self.percentiles(),
            "max": self.max,
            "percentiles_exact": self.percentiles_exact,
            "histogram": self.histogram(),
        }


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy ``percentile`` default)."""
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _edges(lo: float, hi: float, n: int) -> list[tuple[float, float]]:
    step = (hi - lo) / n
    return [(lo + i * step, hi if i == n - 1 else lo + (i + 1) * step) for i in range(n)]


def reward_range(grader: AnyGrader) -> tuple[float, float]:
    if isinstance(grader, ScoreModelGrader):
        value: Any = grader.effective_range
        lo, hi = value() if callable(value) else value
        if lo < hi:  # an invalid range is the grade's problem (a flag), not the histogram's
            return (float(lo), float(hi))
    return (0.0, 1.0)


def judge_graders(grader: AnyGrader) -> dict[str, int]:
    """Model name → how many model graders in the tree call it (judge calls per graded row)."""
    if isinstance(grader, ScoreModelGrader | LabelModelGrader):
        return {grader.model: 1}
    if isinstance(grader, MultiGrader):
        counts: dict[str, int] = {}
        for sub in grader.graders.values():
            for model, k in judge_graders(sub).items():
                counts[model] = counts.get(model, 0) + k
        return counts
    return {}


def metric_names(grader: AnyGrader) -> list[str]:
    if isinstance(grader, TextSimilarityGrader):
        return [grader.evaluation_metric]
    if isinstance(grader, MultiGrader):
        return sorted({m for sub in grader.graders.values() for m in metric_names(sub)})
    return []


def metric_signatures(grader: AnyGrader) -> dict[str, str]:
    """``metrics.signature(name)`` for every metric the grader uses; empty where unavailable."""
    import metrics

    signature = getattr(metrics, "signature", None)
    if signature is None:
        return {}
    out: dict[str, str] = {}
    for name in metric_names(grader):
        try:
            out[name] = str(signature(name))
        except Exception:  # an unknown metric (e.g. cosine) simply has no signature
            continue
    return out


def _flags_of(errors: Mapping[str, Any]) -> dict[str, Any]:
    """Set flags → their detail (or True)."""
    if True not in errors.values():  # the common case, checked in C: no flag set
        return {}
    out: dict[str, Any] = {}
    for flag in ERROR_FLAGS:
        if errors.get(flag):
            detail = errors.get(f"{flag}_details", errors.get(f"{flag}_type"))
            out[flag] = detail if detail is not None else True
    return out


@dataclass
class Summary:
    """Everything ``graders score`` prints; ``to_json`` is what ``--summary-json`` writes."""

    threshold: float | None = None
    reward_lo: float = 0.0
    reward_hi: float = 1.0
    sub_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    judge_graders: dict[str, int] = field(default_factory=dict)
    grader_name: str = ""
    grader_type: str = ""
    rows: int = 0
    scored: int = 0
    unreadable: int = 0
    flagged: int = 0
    passed: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    judge: dict[str, dict[str, int]] = field(default_factory=dict)
    lowest: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)  # max-heap via -reward
    errored: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    metric_signatures: dict[str, str] = field(default_factory=dict)
    elapsed: float | None = None
    timed_rows: int = 0  # rows scored in this run (a resumed run times only those)
    reward: Distribution = field(init=False)
    sub_rewards: dict[str, Distribution] = field(init=False)

    def __post_init__(self) -> None:
        self.reward = Distribution(self.reward_lo, self.reward_hi)
        self.sub_rewards = {k: Distribution(lo, hi) for k, (lo, hi) in self.sub_ranges.items()}

    @classmethod
    def for_grader(cls, grader: AnyGrader, threshold: float | None = None) -> Summary:
        lo, hi = reward_range(grader)
        subs = {k: reward_range(g) for k, g in grader.graders.items()} if isinstance(grader, MultiGrader) else {}
        return cls(
            threshold=threshold,
            reward_lo=lo,
            reward_hi=hi,
            sub_ranges=subs,
            judge_graders=judge_graders(grader),
            grader_name=grader.name or "",
            grader_type=grader.type,
        )

    def empty_copy(self) -> Summary:
        """A summary with the same configuration and no rows (a worker's chunk summary)."""
        return Summary(
            threshold=self.threshold,
            reward_lo=self.reward_lo,
            reward_hi=self.reward_hi,
            sub_ranges=dict(self.sub_ranges),
            judge_graders=dict(self.judge_graders),
            grader_name=self.grader_name,
            grader_type=self.grader_type,
        )

    def add(self, out: Mapping[str, Any]) -> None:
        """Count one output line (a scored row or an unreadable one)."""
        counted = self._count(out)
        if counted is not None:
            reward, sub_rewards = counted
            self.reward.add(reward)
            for key, value in sub_rewards.items():
                self._sub_distribution(key).add(_number(value))

    def add_many(self, outs: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`add` each of ``outs`` (a worker's chunk): the rewards are gathered and added at once."""
        rewards: list[float] = []
        subs: dict[str, list[float]] = {}
        for out in outs:
            counted = self._count(out)
            if counted is not None:
                reward, sub_rewards = counted
                rewards.append(reward)
                for key, value in sub_rewards.items():
                    series = subs.get(key)
                    if series is None:
                        series = subs[key] = []
                    series.append(_number(value))
        self.reward.add_many(rewards)
        for key, series in subs.items():
            self._sub_distribution(key).add_many(series)

    def _sub_distribution(self, key: str) -> Distribution:
        dist = self.sub_rewards.get(key)
        if dist is None:
            dist = self.sub_rewards[key] = Distribution()
        return dist

    def _count(self, out: Mapping[str, Any]) -> tuple[float, Mapping[str, Any]] | None:
        """Everything of one output line but its reward distributions; (reward, sub_rewards) to add
        to them, or None for an unreadable row."""
        self.rows += 1
        row = out["row"]
        if "error" in out:
            self.unreadable += 1
            self._errored(row, {"row": row, **_id(out), "unreadable": out["error"]})
            return None
        self.scored += 1
        reward = _number(out["reward"])
        if self.threshold is not None and reward >= self.threshold:
            self.passed += 1
        subs = out.get("sub_rewards") or {}
        flags = _flags_of(out["metadata"]["errors"])
        if flags:
            self.flagged += 1
            for flag in flags:
                self.flags[flag] = self.flags.get(flag, 0) + 1
        usage = out.get("model_grader_token_usage_per_model") or {}
        for model, tokens in usage.items():
            self._add_judge(model, {"rows": 1, "calls": self.judge_graders.get(model, 1), **tokens})
        info = None
        if flags:
            info = {"row": row, **_id(out), "reward": reward, "sub_rewards": subs, "flags": flags}
            self._errored(row, info)
        if reward == reward and (len(self.lowest) < EXAMPLES or -self.lowest[0][0] > reward):
            info = info or {"row": row, **_id(out), "reward": reward, "sub_rewards": subs, "flags": flags}
            self._lowest((-reward, -row, info))
        return reward, subs

    def _add_judge(self, model: str, counts: Mapping[str, Any]) -> None:
        total = self.judge.setdefault(model, {})
        for key, value in counts.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + int(value)

    def _errored(self, row: int, info: dict[str, Any]) -> None:
        if len(self.errored) < EXAMPLES:
            self.errored.append((row, info))

    def _lowest(self, entry: tuple[float, int, dict[str, Any]]) -> None:
        # Keep the EXAMPLES lowest (reward, row): a max-heap on (-reward, -row) would be inverted,
        # so the heap holds (-reward, -row) and pops the largest reward / latest row first.
        if len(self.lowest) < EXAMPLES:
            heapq.heappush(self.lowest, entry)
        else:
            heapq.heappushpop(self.lowest, entry)

    def merge(self, other: Summary) -> None:
        """Add a summary of later rows (a worker's chunk) into this one."""
        self.rows += other.rows
        self.scored += other.scored
        self.unreadable += other.unreadable
        self.flagged += other.flagged
        self.passed += other.passed
        for flag, n in other.flags.items():
            self.flags[flag] = self.flags.get(flag, 0) + n
        for model, counts in other.judge.items():
            self._add_judge(model, counts)
        self.reward.merge(other.reward)
        for key, dist in other.sub_rewards.items():
            self.sub_rewards.setdefault(key, Distribution(dist.lo, dist.hi)).merge(dist)
        for row, info in other.errored:
            self._errored(row, info)
        for entry in other.lowest:
            self._lowest(entry)

    # ----- results -----

    @property
    def pass_rate(self) -> float | None:
        if self.threshold is None or not self.scored:
            return None
        return self.passed / self.scored

    def lowest_rows(self) -> list[dict[str, Any]]:
        """The lowest-scoring rows, lowest reward first (ties: earlier row first)."""
        return [info for _, _, info in sorted(self.lowest, key=lambda e: (-e[0], -e[1]))]

    def errored_rows(self) -> list[dict[str, Any]]:
        return [info for _, info in sorted(self.errored, key=lambda e: e[0])]

    def to_json(self) -> dict[str, Any]:
        return {
            "grader": {"name": self.grader_name, "type": self.grader_type},
            "rows": self.rows,
            "scored": self.scored,
            "unreadable": self.unreadable,
            "rows_with_error_flags": self.flagged,
            "error_flags": {f: self.flags[f] for f in ERROR_FLAGS if f in self.flags},
            "reward": self.reward.to_json(),
            "threshold": self.threshold,
            "passed": self.passed if self.threshold is not None else None,
            "pass_rate": self.pass_rate,
            "sub_rewards": {k: d.to_json() for k, d in self.sub_rewards.items()},
            "judge": self.judge,
            "metric_signatures": self.metric_signatures,
            "elapsed_seconds": self.elapsed,
            "rows_per_second": self.timed_rows / self.elapsed if self.elapsed else None,
            "lowest_rows": self.lowest_rows(),
            "errored_rows": self.errored_rows(),
        }


def _number(value: Any) -> float:
    """A reward as the summary counts it: null (a reward that could not be produced) is NaN."""
    return math.nan if value is None else float(value)


def _id(out: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": out["id"]} if "id" in out else {}


def _num(x: float) -> str:
    return f"{x:.4g}" if x == x else "nan"


def render_text(summary: Summary, width: int = 40) -> str:
    """The summary as plain text lines (what ``graders score`` prints)."""
    s = summary
    lines = [
        f"rows        {s.rows:,}  (scored {s.scored:,}, unreadable {s.unreadable:,}, "
        f"with error flags {s.flagged:,})"
    ]
    if s.elapsed:
        lines.append(f"time        {s.elapsed:.2f} s  ({s.timed_rows / s.elapsed:,.0f} rows/s)")
    for flag in ERROR_FLAGS:
        if flag in s.flags:
            lines.append(f"  {flag:<40} {s.flags[flag]:,} rows")
    r = s.reward
    if r.n:
        pct = "  ".join(f"{k} {_num(v)}" for k, v in r.percentiles().items())
        note = "" if r.percentiles_exact else f"  (percentiles from a sample of {SAMPLE_CAP:,})"
        lines.append(f"reward      mean {_num(r.mean)}  std {_num(r.std)}  min {_num(r.min)}  {pct}  max {_num(r.max)}{note}")
    if r.nan:
        lines.append(f"            {r.nan:,} rewards are NaN (left out of the statistics)")
    if s.pass_rate is not None:
        lines.append(f"pass rate   {s.pass_rate:.1%}  ({s.passed:,} of {s.scored:,} scored rows with reward >= {_num(s.threshold or 0.0)})")
    hist = r.histogram()
    if hist:
        lines.append("histogram")
        top = max(b["count"] for b in hist) or 1
        for b in hist:
            bar = "█" * round(b["count"] / top * width)
            lines.append(f"  [{b['lo']:6.3g}, {b['hi']:6.3g}{']' if b is hist[-1] else ')'} {bar:<{width}} {b['count']:,}")
    for key, dist in s.sub_rewards.items():
        if dist.n:
            lines.append(f"  sub {key:<16} mean {_num(dist.mean)}  min {_num(dist.min)}  max {_num(dist.max)}")
    for model, counts in s.judge.items():
        tokens = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in ("rows", "calls"))
        lines.append(f"judge       {model}: {counts.get('calls', 0):,} calls" + (f", {tokens}" if tokens else ""))
    for name, sig in s.metric_signatures.items():
        lines.append(f"metric      {name}: {sig}")
    return "\n".join(lines)
