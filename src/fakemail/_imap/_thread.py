"""IMAP THREAD (RFC 5256 §3): the ORDEREDSUBJECT and REFERENCES algorithms.

A thread tree is made of :class:`_Node`\\ s: a message, or a dummy (``item`` is ``None``)
standing for a referenced message that is not among those searched. The response is
rendered here (``(3 6 (4 23)(44 7 96))``): its nested lists touch without a space, which the
generic value renderer does not do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime

from fakemail._imap._events import Thread
from fakemail._imap._response import Atom, ImapValue, Response, Tagged, Untagged
from fakemail._imap._search import SearchCommands
from fakemail._imap._sortvalues import is_reply, message_ids, sent_date, subject_key
from fakemail._store import MailItem

__all__ = ["ThreadCommands", "ordered_subject", "references", "render_threads"]


class _Node:
    """One message (or a dummy) in a thread tree."""

    __slots__ = ("children", "item", "number", "parent", "seq")

    def __init__(self, item: MailItem | None = None, seq: int = 0, number: int = 0) -> None:
        self.item = item
        self.seq = seq
        #: What the response names it by: its sequence number or UID.
        self.number = number
        self.parent: _Node | None = None
        self.children: list[_Node] = []

    def adopt(self, child: _Node) -> None:
        if child.parent is not None:
            child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)

    def is_ancestor_of(self, other: _Node) -> bool:
        node: _Node | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


def _date_key(node: _Node) -> tuple[datetime, int]:
    """RFC 5256 §2.2 sent date, ties by sequence number; a dummy sorts as its first child."""
    while node.item is None and node.children:
        node = node.children[0]
    assert node.item is not None
    return sent_date(node.item.message, node.item.internal_date), node.seq


def _subject(node: _Node) -> str:
    """The thread subject: the message's base subject, or its first child's for a dummy."""
    item = node.item if node.item is not None else node.children[0].item
    return subject_key(item.message) if item is not None else ""


def ordered_subject(found: list[tuple[int, int, MailItem]]) -> list[_Node]:
    """ORDEREDSUBJECT threads of ``(seq, number, item)`` triples (RFC 5256 §3)."""
    nodes = [_Node(item, seq, number) for seq, number, item in found]
    nodes.sort(key=lambda n: (_subject(n), *_date_key(n)))
    threads: list[_Node] = []
    for node in nodes:
        head = threads[-1] if threads else None
        if head is not None and _subject(head) == _subject(node):
            # The second message is the first's child; the later ones its siblings.
            head.adopt(node)
        else:
            threads.append(node)
    threads.sort(key=_date_key)
    return threads


def references(found: list[tuple[int, int, MailItem]]) -> list[_Node]:
    """REFERENCES threads of ``(seq, number, item)`` triples in mailbox order (RFC 5256 §3)."""
    by_id: dict[str, _Node] = {}
    every: list[_Node] = []

    def node_for(message_id: str) -> _Node:
        node = by_id.get(message_id)
        if node is None:
            node = by_id[message_id] = _Node()  # a dummy until its message turns up
            every.append(node)
        return node

    for seq, number, item in found:
        own, refs = message_ids(item.message)
        node = by_id.get(own) if own is not None else None
        if node is None or node.item is not None:
            # No ID, or a duplicate one: a message of its own that nothing references.
            node = _Node()
            every.append(node)
            if own is not None and own not in by_id:
                by_id[own] = node
        node.item, node.seq, node.number = item, seq, number
        # (1A) link the references together, parent before child, never making a loop
        # and never changing a link already made.
        linked = [node_for(r) for r in refs]
        for parent, child in itertools.pairwise(linked):
            if child.parent is None and parent is not child and not child.is_ancestor_of(parent):
                parent.adopt(child)
        # (1B) the last reference is the message's parent, replacing any other.
        if node.parent is not None:
            node.parent.children.remove(node)
            node.parent = None
        if linked:
            parent = linked[-1]
            if parent is not node and not node.is_ancestor_of(parent):
                parent.adopt(node)
    # (2) the roots, (3) without dummies, (4) sorted by date.
    roots = _prune([n for n in every if n.parent is None], at_root=True)
    for root in roots:
        root.parent = None
    _sort_below(roots)
    roots.sort(key=_date_key)
    roots = _merge_subjects(roots)
    # (6) every set of siblings by date, the deepest first (done by _sort_below), then roots.
    _sort_below(roots)
    roots.sort(key=_date_key)
    return roots


def _prune(nodes: list[_Node], *, at_root: bool) -> list[_Node]:
    """RFC 5256 REFERENCES step 3: drop childless dummies, splice in the children of others
    (at the root only when there is one child)."""
    out: list[_Node] = []
    for node in nodes:
        node.children = _prune(node.children, at_root=False)
        for child in node.children:
            child.parent = node
        if node.item is not None:
            out.append(node)
        elif node.children and (not at_root or len(node.children) == 1):
            out.extend(node.children)
        elif node.children:
            out.append(node)
    return out


def _sort_below(nodes: Iterable[_Node]) -> None:
    for node in nodes:
        _sort_below(node.children)
        node.children.sort(key=_date_key)


def _reply(node: _Node) -> bool:
    return node.item is not None and is_reply(node.item.message)


def _merge_subjects(roots: list[_Node]) -> list[_Node]:
    """RFC 5256 REFERENCES step 5: threads with the same base subject are gathered."""
    table: dict[str, _Node] = {}
    for node in roots:
        subject = _subject(node)
        if not subject:
            continue
        held = table.get(subject)
        if held is None or (
            held.item is not None and (node.item is None or (_reply(held) and not _reply(node)))
        ):
            table[subject] = node
    out = list(roots)
    for node in roots:
        subject = _subject(node)
        if not subject:
            continue
        held = table[subject]
        if held is node:
            continue
        out.remove(node)
        if held.item is None and node.item is None:
            for child in list(node.children):
                held.adopt(child)
        elif held.item is None or (_reply(node) and not _reply(held)):
            held.adopt(node)
        else:
            dummy = _Node()
            out[out.index(held)] = dummy
            held.parent = None
            dummy.adopt(held)
            node.parent = None
            dummy.adopt(node)
            table[subject] = dummy
    return out


def _render(node: _Node) -> str:
    """One thread-list's contents: a chain of numbers, then any branches as sub-lists."""
    parts: list[str] = []
    while True:
        if node.item is not None:
            parts.append(str(node.number))
        if len(node.children) == 1:
            node = node.children[0]
            continue
        if node.children:
            parts.append("".join(f"({_render(c)})" for c in node.children))
        return " ".join(parts)


def render_threads(roots: list[_Node]) -> str:
    """The threads of a THREAD response: ``(2)(3 6 (4 23)(44 7 96))`` (RFC 5256 §4)."""
    return "".join(f"({_render(r)})" for r in roots)


class ThreadCommands(SearchCommands):
    """Threading the messages a search finds."""

    def _thread(self, cmd: Thread, out: list[Response]) -> Tagged:
        view = self._selected_view()
        found = [
            (seq, item.uid if cmd.uid else seq, item)
            for seq, item in self._find(cmd.criteria, view, out)
        ]
        threads = ordered_subject(found) if cmd.algorithm == "ORDEREDSUBJECT" else references(found)
        data: list[ImapValue] = [Atom("THREAD")]
        if threads:
            data.append(Atom(render_threads(threads)))
        out.append(Untagged(tuple(data)))
        return Tagged(cmd.tag, "OK", "THREAD completed")
