"""`sagashop docs`: the documents made from the code, so they cannot drift from it —
docs/asyncapi.json; in docs/architecture.md the picture and the table of the topics (from
schemas/topics.py); in docs/state-machines.md the order's moves (from order_svc/guards.py).
Each generated part sits between `<name>:begin` and `<name>:end` markers; a unit test keeps
them current."""

from __future__ import annotations

import re
from pathlib import Path

from launcher.processes import ROOT
from order_svc import guards
from schemas import topics
from schemas.registry import TOPIC_MODELS
from servicekit import asyncapi

DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
STATE_MACHINES = DOCS / "state-machines.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin (made by `sagashop docs`) -->", f"<!-- {name}:end -->"


def _node(party: str) -> str:
    return "neighbours" if party.startswith("neighbour") else party


def topics_section() -> str:
    """A Mermaid flowchart (sender --topic--> receiver) and a table of every topic."""
    lines = ["```mermaid", "flowchart LR"]
    for t in topics.ALL:
        for sender in asyncapi.senders(t):
            for receiver in t.consumers or ("outside",):
                lines.append(f"    {_node(sender)} -->|{t.name}| {receiver}")
    lines += ["```", "", "| topic | key | sent by | read by | message | what |"]
    lines.append("|---|---|---|---|---|---|")
    for t in topics.ALL:
        readers = ", ".join(t.consumers) or "outside (a neighbour)"
        model = TOPIC_MODELS[t.name].__name__
        lines.append(f"| `{t.name}` | {t.key} | {t.producer} | {readers} | {model} | {t.doc} |")
    return "\n".join(lines)


def orders_section(table: dict[guards.Actor, guards.Moves], title: str, start: str) -> str:
    """A Mermaid state diagram of who (actor) may move an order from what to what."""
    edges: dict[tuple[str, str], list[str]] = {}
    for actor, moves in table.items():
        for source, targets in moves.items():
            for target in targets:
                edges.setdefault((source, target), []).append(actor.lower())
    lines = ["```mermaid", "---", f"title: {title}", "---", "stateDiagram-v2"]
    lines.append(f"    [*] --> {start}")
    for (before, after), actors in sorted(edges.items()):
        lines.append(f"    {before} --> {after}: {', '.join(sorted(actors))}")
    return "\n".join([*lines, "```"])


SECTIONS = {
    (ARCHITECTURE.name, "topics"): topics_section,
    (STATE_MACHINES.name, "goods-orders"): lambda: orders_section(
        guards.GOODS, "goods orders", "NEW"
    ),
    (STATE_MACHINES.name, "gift-card-orders"): lambda: orders_section(
        guards.GIFT_CARDS, "gift-card orders", "AWAITING_PAYMENT"
    ),
}


def current(file: str, text: str) -> str:
    """`text` (the file `file` of docs/) with each generated section replaced by today's."""
    for (name, section), make in SECTIONS.items():
        if name != file:
            continue
        begin, end = markers(section)
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise ValueError(f"docs/{file} has no {section} section ({begin} ... {end})")
        text = pattern.sub("\n".join([begin, make(), end]).replace("\\", r"\\"), text)
    return text


def write_all(docs: Path = DOCS) -> list[Path]:
    written = [asyncapi.write(docs / "asyncapi.json")]
    for file in sorted({name for name, _ in SECTIONS}):
        path = docs / file
        path.write_text(current(file, path.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(path)
    return written
