"""The one-off CMeKG derivation (data/lexicons/derive_cmekg.py) and the files it wrote. PyCMeKG is not needed:
the unpickler is tested on tiny pickles built here."""
from __future__ import annotations

import importlib.util
import os
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import pytest

from nlp.lexicon import Lexicon, read_header

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "data" / "lexicons" / "derive_cmekg.py"


@pytest.fixture(scope="module")
def derive():
    spec = importlib.util.spec_from_file_location("derive_cmekg", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _RunsCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_unpickler_refuses_os_system(derive, tmp_path, protocol):
    marker = tmp_path / "ran"
    data = pickle.dumps({"头孢曲松": {"不良反应": [_RunsCommand(marker)]}}, protocol=protocol)
    assert b"system" in data
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        derive.restricted_loads(data)
    assert not marker.exists()


@pytest.mark.parametrize("obj", [OrderedDict(a=1), eval, getattr, Path("x")])
def test_unpickler_refuses_other_globals(derive, obj):
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        derive.restricted_loads(pickle.dumps(obj, protocol=2))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_unpickler_loads_plain_containers(derive, protocol):
    obj = {"头孢曲松": {"不良反应": ["皮疹", "恶心、呕吐"]}, "n": [1, 2.5, (3, "x")], "s": {"a", "b"}}
    assert derive.restricted_loads(pickle.dumps(obj, protocol=protocol)) == obj


def test_load_graph_checks_shape(derive, tmp_path):
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps({"头孢曲松": {"不良反应": ["皮疹"]}}))
    assert derive.load_graph(good) == {"头孢曲松": {"不良反应": ["皮疹"]}}
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"头孢曲松": {"不良反应": "皮疹"}}))
    with pytest.raises(ValueError, match="list"):
        derive.load_graph(bad)


def test_reaction_phrases(derive):
    assert derive.reaction_phrases("恶心、呕吐") == ["恶心", "呕吐"]
    assert derive.reaction_phrases("偶见过敏反应，头部不适及胃肠道障碍") == ["过敏反应", "头部不适", "胃肠道障碍"]
    assert derive.reaction_phrases("初发性或维持性睡眠障碍［失眠症］") == ["失眠症"]
    assert derive.reaction_phrases("头痛（5.4%）") == ["头痛"]
    assert derive.reaction_phrases("皮疹等") == ["皮疹"]
    assert derive.reaction_phrases("未见不良反应") == []


def test_symptom_like(derive):
    assert derive.symptom_like("皮疹", {}, set())
    assert derive.symptom_like("转氨酶升高", {}, set())
    assert not derive.symptom_like("碱性磷酸酶", {}, set())    # an analyte without a direction
    assert not derive.symptom_like("双盲", {}, set())
    assert not derive.symptom_like("甲泼尼龙", {}, {"甲泼尼龙"})


# --- the derived files ---------------------------------------------------------------------------------------

CMEKG = ROOT / "data" / "lexicons" / "cmekg_drugs.tsv"
ADR = ROOT / "data" / "knowledge" / "drug_adverse_reactions.tsv"


def _rows(path: Path) -> list[list[str]]:
    return [ln.split("\t") for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]


def test_derived_files_have_headers_and_licence():
    for path in (CMEKG, ADR):
        meta = read_header(path)
        assert meta["version"] and "PyCMeKG 0.2.5" in meta["source"] and "MIT" in meta["licence"]
        notice = path.parent / "CMEKG_LICENSE.txt"
        assert "MIT License" in notice.read_text(encoding="utf-8")
    assert sum(p.stat().st_size for p in (CMEKG, ADR)) < 3_000_000


def test_cmekg_names_are_clean_sorted_and_not_ours():
    rows = _rows(CMEKG)
    names = [r[0] for r in rows]
    assert names == sorted(names) and len(set(names)) == len(names) and len(names) > 10_000
    assert all(r[1] == "药物" for r in rows)
    assert all(re.fullmatch(r"[\u4e00-\u9fffa-z0-9]+", n) and len(re.findall(r"[\u4e00-\u9fff]", n)) >= 2
               for n in names)
    own_terms = set()
    for path in (ROOT / "data" / "lexicons").glob("*.tsv"):
        if path != CMEKG:
            own_terms |= {r[0] for r in _rows(path)}
    assert not own_terms & set(names)
    assert not {"水", "氧气", "盐", "宇宙", "东北", "可耐"} & set(names)


def test_adr_pairs_sorted():
    rows = _rows(ADR)
    assert rows[0] == ["drug", "reaction", "entries"]
    pairs = [(r[0], r[1]) for r in rows[1:]]
    assert pairs == sorted(pairs) and len(set(pairs)) == len(pairs)
    assert all(2 <= len(r) <= 8 and int(n) >= 1 for _, r, n in rows[1:])


def test_own_lexicon_wins_over_derived(tmp_path):
    head = "# version: 1\n# source: t\n# licence: t\n"
    (tmp_path / "a_derived.tsv").write_text(head + "# precedence: low\n阿司匹林\t症状\n泰素\t药物\tgeneric=紫杉醇\n",
                                            encoding="utf-8")
    (tmp_path / "drugs.tsv").write_text(head + "阿司匹林\t药物\tclass=抗血小板\n", encoding="utf-8")
    lex = Lexicon(tmp_path)
    assert lex.terms["阿司匹林"] == ("药物", {"class": "抗血小板"})
    assert lex.terms["泰素"] == ("药物", {"generic": "紫杉醇"})
