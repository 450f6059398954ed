"""Read and write the TCL subset of Nuke scripts that ``.gizmo`` files use.

Enough to check the project's own gizmos without Nuke: commands split into words
(bare, ``"quoted"`` with backslash escapes, ``{braced}`` kept raw), node blocks
``Class { knob value ... }`` with their ``addUserKnob {...}`` definitions, and the node
stack (``push``, ``set VAR [stack 0]``, ``end_group``) that wires inputs: a node with
``inputs N`` takes the top of the stack as input 0, the next as input 1, and so on.
Syntax errors raise ``ValueError`` with the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GROUP_CLASSES = ("Gizmo", "Group")
"""Node classes whose block opens a group closed by ``end_group``."""

_BARE = re.compile(r"[A-Za-z0-9_.:/+\-@%#]+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_QUOTE = {"\\": "\\\\", '"': '\\"', "[": "\\[", "$": "\\$", "{": "\\{", "}": "\\}",
          "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@dataclass(frozen=True)
class Word:
    """One word of a command: its text (escapes resolved unless braced) and how it was
    written: ``"bare"``, ``"quoted"`` or ``"braced"``."""

    text: str
    kind: str = "bare"
    line: int = 0


@dataclass
class UserKnob:
    """An ``addUserKnob {TYPE NAME options}`` definition: ``l`` label, ``t`` tooltip,
    ``T`` text (a PyScript's command, a Link's target), ``M`` menu, ``R`` range, ``n``
    tab nesting, ``+FLAG``/``-FLAG``."""

    type_id: int
    name: str
    label: str = ""
    tooltip: str = ""
    text: str | None = None
    menu: list[str] | None = None
    range: tuple[float, float] | None = None
    nesting: int | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class Node:
    """A node block: its knob values (the words after each knob name), user knobs in
    order, inputs (``None`` for an empty one) and, for a group, its children."""

    cls: str
    knobs: dict[str, list[Word]] = field(default_factory=dict)
    user_knobs: list[UserKnob] = field(default_factory=list)
    inputs: list[Node | None] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    line: int = 0

    @property
    def name(self) -> str:
        """The ``name`` knob, or "" when the block has none."""
        return self.value("name") or ""

    def value(self, knob: str) -> str | None:
        """The text of a one-word knob value, ``None`` if the knob is not written."""
        words = self.knobs.get(knob)
        return None if words is None else " ".join(w.text for w in words)

    def user_knob(self, name: str) -> UserKnob | None:
        """The user knob called ``name``, if any."""
        return next((k for k in self.user_knobs if k.name == name), None)

    def child(self, name: str) -> Node:
        """The child node called ``name``; ``KeyError`` if there is none."""
        for node in self.children:
            if node.name == name:
                return node
        raise KeyError(name)


@dataclass
class Script:
    """A parsed script: its top-level nodes (a ``.gizmo`` file has one, the Gizmo)."""

    version: str = ""
    nodes: list[Node] = field(default_factory=list)


def quote(text: str) -> str:
    """``text`` as one TCL word: bare when it is a plain token, else double-quoted with
    the characters Nuke escapes backslashed (the inverse of the reader)."""
    if text and _BARE.fullmatch(text):
        return text
    return '"' + "".join(_QUOTE.get(c, c) for c in text) + '"'


def braced(*words: str) -> str:
    """``{w1 w2 ...}``: a list of already written words."""
    return "{" + " ".join(words) + "}"


def split_words(text: str, first_line: int = 1) -> list[list[Word]]:
    """``text`` split into commands (at newlines and ``;`` outside words), each a list of
    words. ``#`` at the start of a command comments out the rest of its line."""
    commands: list[list[Word]] = []
    words: list[Word] = []
    i, n, line = 0, len(text), first_line
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
        elif c in "\n;":
            line += c == "\n"
            if words:
                commands.append(words)
                words = []
            i += 1
        elif c == "#" and not words:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "{":
            end = _matching_brace(text, i, line)
            words.append(Word(text[i + 1:end], "braced", line))
            line += text.count("\n", i, end)
            i = end + 1
        elif c == '"':
            value, i, line = _quoted(text, i + 1, line)
            words.append(Word(value, "quoted", line))
        else:
            value, i = _bare(text, i, line)
            words.append(Word(value, "bare", line))
    if words:
        commands.append(words)
    return commands


def _matching(text: str, start: int, line: int, opening: str, closing: str) -> int:
    """Index of the ``closing`` character that balances the ``opening`` one at ``start``
    (backslash escapes skipped)."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        depth += (c == opening) - (c == closing)
        if depth == 0:
            return i
        i += 1
    raise ValueError(f"line {line}: unbalanced '{opening}'")


def _matching_brace(text: str, start: int, line: int) -> int:
    return _matching(text, start, line, "{", "}")


def _matching_bracket(text: str, start: int, line: int) -> int:
    return _matching(text, start, line, "[", "]")


def _quoted(text: str, i: int, line: int) -> tuple[str, int, int]:
    out = []
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1, line
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if c == "[":
            end = _matching_bracket(text, i, line)
            out.append(text[i:end + 1])
            i = end + 1
            continue
        line += c == "\n"
        out.append(c)
        i += 1
    raise ValueError(f"line {line}: unterminated '\"'")


def _bare(text: str, i: int, line: int) -> tuple[str, int]:
    out = []
    while i < len(text) and text[i] not in " \t\r\n;":
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        elif c == "[":
            end = _matching_bracket(text, i, line)
            out.append(text[i:end + 1])
            i = end + 1
        elif c in "{}\"":
            raise ValueError(f"line {line}: unexpected {c!r} inside a word")
        else:
            out.append(c)
            i += 1
    return "".join(out), i


def parse_user_knob(word: Word) -> UserKnob:
    """The ``{TYPE NAME options}`` of an ``addUserKnob`` line."""
    words = [w for command in split_words(word.text, word.line) for w in command]
    if len(words) < 2 or not words[0].text.isdigit():
        raise ValueError(f"line {word.line}: addUserKnob needs {{TYPE NAME ...}}")
    knob = UserKnob(int(words[0].text), words[1].text)
    rest = words[2:]
    while rest:
        opt = rest.pop(0)
        if opt.text[:1] in "+-" and opt.kind == "bare" and len(opt.text) > 1:
            knob.flags.append(opt.text)
            continue
        if opt.text not in ("l", "t", "T", "M", "R", "n") or not rest:
            raise ValueError(f"line {opt.line}: unknown addUserKnob option {opt.text!r}")
        arg = rest.pop(0)
        if opt.text == "l":
            knob.label = arg.text
        elif opt.text == "t":
            knob.tooltip = arg.text
        elif opt.text == "T":
            knob.text = arg.text
        elif opt.text == "M":
            knob.menu = items(arg.text)
        elif opt.text == "n":
            knob.nesting = int(arg.text)
        else:
            if not rest:
                raise ValueError(f"line {arg.line}: R needs a minimum and a maximum")
            knob.range = (float(arg.text), float(rest.pop(0).text))
    return knob


def parse_node(cls: str, body: Word) -> Node:
    """A node block's body: knob lines and ``addUserKnob`` lines."""
    node = Node(cls, line=body.line)
    for command in split_words(body.text, body.line):
        name = command[0].text
        if name == "addUserKnob":
            if len(command) != 2 or command[1].kind != "braced":
                raise ValueError(f"line {command[0].line}: addUserKnob takes one {{...}}")
            node.user_knobs.append(parse_user_knob(command[1]))
        elif len(command) < 2:
            raise ValueError(f"line {command[0].line}: knob {name!r} has no value")
        else:
            node.knobs[name] = command[1:]
    return node


def input_count(node: Node) -> int:
    """The node's ``inputs`` knob (``2+1`` counts 3); 1 when it is not written."""
    text = node.value("inputs")
    if text is None:
        return 1
    try:
        return sum(int(part) for part in text.split("+"))
    except ValueError:
        raise ValueError(f"line {node.line}: bad inputs {text!r}") from None


def parse_script(text: str) -> Script:
    """Parse a Nuke script or ``.gizmo`` file and wire its nodes' inputs."""
    script = Script()
    stack: list[Node | None] = []
    variables: dict[str, Node | None] = {}
    scopes: list[tuple[list[Node | None], list[Node], Node]] = []
    siblings = script.nodes
    for command in split_words(text):
        head = command[0]
        if head.text == "version":
            script.version = " ".join(w.text for w in command[1:])
        elif head.text == "push" and len(command) == 2:
            ref = command[1].text
            if ref == "0":
                stack.append(None)
            elif ref.startswith("$") and ref[1:] in variables:
                stack.append(variables[ref[1:]])
            else:
                raise ValueError(f"line {head.line}: push of unknown {ref!r}")
        elif head.text == "set" and len(command) == 3 and command[2].text == "[stack 0]":
            if not stack:
                raise ValueError(f"line {head.line}: set on an empty stack")
            variables[command[1].text] = stack[-1]
        elif head.text == "end_group":
            if not scopes:
                raise ValueError(f"line {head.line}: end_group without a group")
            stack, siblings, group = scopes.pop()
            stack.append(group)
        elif len(command) == 2 and command[1].kind == "braced" and _BARE.fullmatch(head.text):
            node = parse_node(head.text, command[1])
            node.inputs = [stack.pop() if stack else None for _ in range(input_count(node))]
            siblings.append(node)
            if node.cls in GROUP_CLASSES:
                scopes.append((stack, siblings, node))
                stack, siblings = [], node.children
            else:
                stack.append(node)
        else:
            raise ValueError(f"line {head.line}: cannot read command {head.text!r}")
    if scopes:
        raise ValueError(f"group {scopes[-1][2].cls} is not closed by end_group")
    return script


def items(text: str) -> list[str]:
    """The elements of a TCL list (a braced word's text): ``{a b} c`` -> ``["a b", "c"]``."""
    return [w.text for command in split_words(text) for w in command]


def curve_values(text: str) -> dict[float, float]:
    """The keys of one ``curve`` animation (``curve [flags] x<frame> v v ...``, values on
    consecutive frames after each ``x``), frame -> value."""
    words = text.split()
    if not words or words[0] != "curve":
        raise ValueError(f"not a curve: {text[:40]!r}")
    keys: dict[float, float] = {}
    frame = 1.0
    for word in words[1:]:
        if word.startswith("x"):
            frame = float(word[1:])
        elif word.isalpha():  # interpolation flags such as L, K, C
            continue
        else:
            keys[frame] = float(word)
            frame += 1.0
    return keys
