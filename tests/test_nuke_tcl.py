"""The reader and writer of Nuke's TCL script syntax (faceswap_vfx.nuke.tcl)."""

from __future__ import annotations

import random

import pytest

from faceswap_vfx.nuke.tcl import curve_values, parse_script, quote

STACKED = """version 15.0 v1
# a comment line
Read {
 inputs 0
 name A
}
set NA [stack 0]
Read {
 inputs 0
 file "/plates/b.%04d.exr"
 name B
}
Merge2 {
 inputs 2
 name M
}
push $NA
push 0
Switch {
 inputs 2
 which {{"parent.show && frame > 3"}}
 name S
}
Group {
 name G
 addUserKnob {20 main l "Main tab"}
 addUserKnob {7 soft l "soft \\"edge\\"" t "line one\\nline two" R -1 16.5 +STARTLINE}
 soft 2.5
 addUserKnob {4 mode M {fast "very slow" {odd item}} -STARTLINE}
 addUserKnob {26 ""}
}
 Input {
  inputs 0
  name In
 }
 Output {
  name Out
 }
end_group
Dot {
 name D
}
"""


def test_the_stack_wires_inputs_top_first():
    script = parse_script(STACKED)
    nodes = {n.name: n for n in script.nodes}
    assert script.version == "15.0 v1"
    assert [i.name for i in nodes["M"].inputs] == ["B", "A"]
    assert [i and i.name for i in nodes["S"].inputs] == [None, "A"]
    assert [i.name for i in nodes["G"].inputs] == ["S"]
    assert [i.name for i in nodes["D"].inputs] == ["G"]
    group = nodes["G"]
    assert [c.name for c in group.children] == ["In", "Out"]
    assert group.child("Out").inputs[0].name == "In"
    assert nodes["B"].value("file") == "/plates/b.%04d.exr"
    assert nodes["S"].value("which") == '{"parent.show && frame > 3"}'


def test_user_knobs_are_read_with_their_options():
    group = {n.name: n for n in parse_script(STACKED).nodes}["G"]
    assert [k.type_id for k in group.user_knobs] == [20, 7, 4, 26]
    soft = group.user_knob("soft")
    assert (soft.label, soft.tooltip) == ('soft "edge"', "line one\nline two")
    assert soft.range == (-1.0, 16.5) and soft.flags == ["+STARTLINE"]
    assert group.value("soft") == "2.5"
    assert group.user_knob("mode").menu == ["fast", "very slow", "odd item"]
    assert group.user_knobs[3].name == ""


@pytest.mark.parametrize("seed", range(5))
def test_quote_round_trips_any_text(seed):
    rng = random.Random(seed)
    alphabet = 'ab _-.:/#%$[]{}"\\\n\t;@+'
    for _ in range(50):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        node = parse_script(f"NoOp {{\n value {quote(text)}\n name n\n}}\n").nodes[0]
        assert node.value("value") == text, repr(text)


def test_quote_leaves_plain_words_bare():
    assert quote("plate_levels") == "plate_levels"
    assert quote("") == '""' and quote("a b") == '"a b"' and quote("[x]") == '"\\[x]"'


@pytest.mark.parametrize("text, why", [
    ("NoOp {\n name a\n", "unbalanced '{'"),
    ("end_group\n", "end_group without a group"),
    ("push $nowhere\n", "push of unknown"),
    ("NoOp {\n addUserKnob {7 x Q 1}\n}\n", "unknown addUserKnob option"),
    ("NoOp {\n value \"open\n}\n", "unterminated"),
    ("Group {\n name g\n}\n", "not closed"),
])
def test_syntax_errors_name_the_problem(text, why):
    with pytest.raises(ValueError, match=why):
        parse_script(text)


def test_inputs_with_a_mask_count_both():
    script = parse_script("Constant {\n inputs 0\n}\nConstant {\n inputs 0\n}\n"
                          "Merge2 {\n inputs 1+1\n name m\n}\n")
    assert len(script.nodes[2].inputs) == 2


def test_curves_read_keys_on_consecutive_frames():
    assert curve_values("curve x1001 1 2.5 x1005 -3") == {1001: 1.0, 1002: 2.5, 1005: -3.0}
    assert curve_values("curve L 0 1") == {1: 0.0, 2: 1.0}
    with pytest.raises(ValueError):
        curve_values("1 2 3")
