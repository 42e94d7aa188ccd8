"""The rule language: concept classes named in patterns, rule examples that must and must not match, short lines."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlp.events.classes import expand, load_classes
from nlp.events.rules import load_event_rules
from nlp.normalize import normalize_text

MAX_LINE = 120


def _rule_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "rules" / "events").glob("*.yaml")) + sorted((data_dir / "rules" / "classes").glob("*.yaml"))


def test_no_pattern_line_is_a_wall(data_dir):
    long = [f"{p.name}:{i}: {len(line)} chars" for p in _rule_files(data_dir)
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, "rule lines over %d characters:\n%s" % (MAX_LINE, "\n".join(long))


def test_every_trigger_is_described_and_has_examples(event_rules):
    bare = [f"{r.category}.{t.id}" for r in event_rules for t in r.triggers if not t.description or not t.match]
    assert not bare, f"triggers without a Chinese description or a must-match example: {bare}"


def test_rule_examples_match_and_do_not_match(event_rules):
    wrong = []
    for r in event_rules:
        for t in r.triggers:
            for s in t.match:
                if not t.rx.search(normalize_text(s)):
                    wrong.append(f"{r.category}.{t.id} misses its example {s!r}")
            for s in t.no_match:
                if t.rx.search(normalize_text(s)):
                    wrong.append(f"{r.category}.{t.id} matches its counter-example {s!r}")
    assert not wrong, "\n".join(wrong)


def test_rules_name_classes(event_rules):
    """Rules are written over concept classes: most categories refer to at least one class."""
    from nlp.events.classes import referenced
    with_class = {r.category for r in event_rules for t in r.triggers if referenced(t.source)}
    assert len(with_class) >= 12, sorted(with_class)


def test_class_expansion_and_errors(tmp_path):
    d = tmp_path / "classes"
    d.mkdir()
    (d / "pump.yaml").write_text("class: pump\ndescription: 泵\nsource: test\nterms: [泵, 输液泵]\n", encoding="utf-8")
    (d / "device.yaml").write_text("class: device\ndescription: 设备\nsource: test\nterms: [呼吸机]\n"
                                   "include: [pump]\n", encoding="utf-8")
    classes = load_classes(d)
    assert classes["device"].terms == ("呼吸机", "泵", "输液泵")
    rx = expand("{device}{gap:3}故障", classes)
    assert rx.startswith("(?:呼吸机|输液泵|泵)")  # longest first
    with pytest.raises(ValueError, match="unknown class"):
        expand("{nosuch}故障", classes)
    with pytest.raises(ValueError, match="needs a length"):
        expand("{gap}", classes)
    (d / "loop.yaml").write_text("class: loop\ndescription: x\nsource: t\nterms: [a]\ninclude: [loop2]\n",
                                 encoding="utf-8")
    (d / "loop2.yaml").write_text("class: loop2\ndescription: x\nsource: t\nterms: [b]\ninclude: [loop]\n",
                                  encoding="utf-8")
    with pytest.raises(ValueError, match="cycle"):
        load_classes(d)


def test_a_word_added_to_a_class_applies_to_every_rule(data_dir, tmp_path):
    """A quality manager adds a device to the device class: the equipment rule finds its failure at once."""
    data = tmp_path / "data"
    shutil.copytree(data_dir / "rules", data / "rules")
    shutil.copytree(data_dir / "lexicons", data / "lexicons", ignore=shutil.ignore_patterns("cmekg*"))
    shutil.copy(data_dir / "taxonomy.yaml", data / "taxonomy.yaml")
    text = normalize_text("术中超声刀手柄无反应，更换后继续手术")

    def fired(folder: Path) -> bool:
        rules = {r.category: r for r in load_event_rules(folder / "rules" / "events", folder / "taxonomy.yaml")}
        return any(t.rx.search(text) for t in rules["equipment_failure"].triggers)

    assert not fired(data)
    cls = data / "rules" / "classes" / "device.yaml"
    cls.write_text(cls.read_text(encoding="utf-8").replace("terms:\n", "terms:\n- 超声刀\n", 1), encoding="utf-8")
    assert fired(data)
