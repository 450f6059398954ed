"""The parameter schema, flags generated from it, and shot files."""

import json

import pytest

from faceswap_vfx import params as schema
from faceswap_vfx.cli.main import build_parser
from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args
from faceswap_vfx.errors import ParameterError, ShotFileError, ShotVersionError


def test_every_parameter_is_complete():
    assert schema.PARAMS, "no parameters declared"
    for p in schema.PARAMS.values():
        assert p.help and p.group in schema.GROUPS, p.name
        assert schema.validate(p, p.default) == p.default, p.name
        if p.kind in ("int", "float"):
            assert p.minimum is not None and p.maximum is not None, p.name
            assert p.minimum <= p.default <= p.maximum, p.name
        if p.kind == "enum":
            assert p.default in p.choices


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("crop_size", "512", 512), ("crop_margin", "0.5", 0.5), ("detector", "cnn", "cnn"),
    ("max_gap", 3.0, 3),
])
def test_validate_coerces_text(name, value, expected):
    assert schema.validate(name, value) == expected


@pytest.mark.parametrize(("name", "value", "why"), [
    ("crop_size", 300, "power of two"), ("crop_size", 2048, "above the maximum"),
    ("crop_margin", -0.1, "below the minimum"), ("detector", "mtcnn", "not one of"),
    ("max_gap", 2.5, "whole number"), ("crop_margin", "nan", "not finite"),
    ("crop_margin", "wide", "not a number"), ("nonsense", 1, "unknown parameter"),
])
def test_validate_rejects_with_the_name(name, value, why):
    with pytest.raises(ParameterError, match=why):
        schema.validate(name, value)


def test_shot_round_trip(tmp_path):
    shot = schema.Shot(schema.resolve({"crop_size": 512, "detector": "cnn"}),
                       {"plates": "shot010/plate.####.exr"})
    schema.save_shot(shot, tmp_path / "shot010.shot.json")
    back = schema.load_shot(tmp_path / "shot010.shot.json")
    assert back.params == shot.params and back.inputs == shot.inputs
    body = json.loads((tmp_path / "shot010.shot.json").read_text())
    assert body["format"] == "faceswap_vfx.shot" and body["version"] == schema.SHOT_VERSION


def test_newer_shot_file_is_refused_by_name(tmp_path):
    path = tmp_path / "future.shot.json"
    path.write_text(json.dumps({"format": "faceswap_vfx.shot", "version": 99, "params": {}}))
    with pytest.raises(ShotVersionError, match="version 99.*future.shot.json"):
        schema.load_shot(path)


@pytest.mark.parametrize(("text", "why"), [
    ("{not json", "not readable JSON"),
    ('{"format": "something.else", "version": 1}', "not a shot file"),
    ('{"format": "faceswap_vfx.shot", "version": 1, "params": {"crop_size": 48}}', "power of two"),
    ('{"format": "faceswap_vfx.shot", "version": 1, "params": {"bogus": 3}}', "unknown parameter"),
])
def test_bad_shot_files(tmp_path, text, why):
    path = tmp_path / "bad.shot.json"
    path.write_text(text)
    with pytest.raises(ShotFileError, match=why) as err:
        schema.load_shot(path)
    assert "bad.shot.json" in str(err.value)


def test_flags_layer_over_shot_over_defaults(tmp_path):
    schema.save_shot(schema.Shot(schema.resolve({"crop_size": 512, "max_gap": 9})),
                     tmp_path / "s.json")
    import argparse
    parser = argparse.ArgumentParser()
    add_param_flags(parser)
    args = parser.parse_args(["--shot", str(tmp_path / "s.json"), "--crop-size", "128"])
    values = params_from_args(args)
    assert values["crop_size"] == 128  # flag beats shot
    assert values["max_gap"] == 9  # shot beats default
    assert values["detector"] == schema.PARAMS["detector"].default


def test_every_parameter_has_a_flag():
    import argparse
    parser = argparse.ArgumentParser()
    add_param_flags(parser)
    flags = {a for action in parser._actions for a in action.option_strings}
    assert {p.flag for p in schema.PARAMS.values()} <= flags


def test_every_subcommand_has_help_with_an_example(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "plates" in sub.choices
    for name, subparser in sub.choices.items():
        text = subparser.format_help()
        nested = [a for a in subparser._actions if a.dest.endswith("_command")]
        for child in (nested[0].choices.values() if nested else [subparser]):
            assert "example:" in child.format_help(), f"{name}: no example in --help"
        assert text
