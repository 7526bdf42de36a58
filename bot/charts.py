"""Pictures sent on Telegram, drawn when the message is sent rather than when it is
queued: a Sunday sweep queues a summary for everyone at once, and drawing 100,000
charts there would hold up every prompt behind it (the dispatcher sends at most 30 a
second anyway)."""

from __future__ import annotations

import io

# A weekly average per measure, oldest week first; None for a week with no check-ins.
Weekly = dict[str, list[float | None]]


def weekly_png(scores: Weekly) -> bytes:
    """A small line chart of weekly averages on a 0-5 scale (matplotlib's Agg backend:
    no display needed). Fixed margins: ``tight_layout`` would double the cost."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2.5), dpi=100)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.2)
    ax = fig.add_subplot()
    weeks = len(next(iter(scores.values()), []))
    ago = list(range(-weeks + 1, 1))
    for measure, values in sorted(scores.items()):
        points = [(w, v) for w, v in zip(ago, values, strict=True) if v is not None]
        ax.plot([w for w, _ in points], [v for _, v in points], marker="o", label=measure)
    ax.set_ylim(0, 5)
    ax.set_xlabel("weeks ago")
    ax.legend(fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
