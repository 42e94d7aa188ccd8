from nlp.context import ContextComponent
from nlp.events import EventCandidateFinder, EventDetector
from nlp.events.checks import critical_value_delay
from nlp.events.severity import load_severity_rules


def run_events(make_doc, event_rules, context_rules, data_dir, text, note_type="护理记录"):
    doc = make_doc(text, note_type)
    EventCandidateFinder(event_rules)(doc)
    ContextComponent(context_rules, span_groups=["event_candidates"])(doc)
    EventDetector(event_rules, load_severity_rules(data_dir / "rules" / "severity.yaml"), context_rules.sections)(doc)
    return doc


def test_all_18_categories_have_rules(event_rules, data_dir):
    import yaml
    tax = yaml.safe_load((data_dir / "taxonomy.yaml").read_text(encoding="utf-8"))
    assert {r.category for r in event_rules} == set(tax["events"])


def test_one_finding_per_incident(make_doc, event_rules, context_rules, data_dir):
    doc = run_events(make_doc, event_rules, context_rules, data_dir,
                     "患者如厕时跌倒，跌倒后右髋疼痛，X线示股骨颈骨折。跌倒事件已上报。")
    falls = [f for f in doc._.findings if f.category == "fall"]
    assert len(falls) == 1
    f = falls[0]
    assert doc.text[f.start:f.end] == f.evidence and f.severity == "II"
    fall_rule = next(r for r in event_rules if r.category == "fall")
    assert f.rule.startswith("event.fall.") and f.rule.endswith(f".v{fall_rule.version}")
    assert "跌倒" in f.explanation and f.explanation.endswith("。")


def test_suppressed_candidates_are_listed(make_doc, event_rules, context_rules, data_dir):
    doc = run_events(make_doc, event_rules, context_rules, data_dir, "否认跌倒史。")
    assert doc._.findings == []
    s = doc._.suppressed[0]
    assert (s.category, s.reason, s.rule, s.evidence) == ("fall", "negated", "neg.fouren", "跌倒")


def test_exclusion_is_a_suppression(make_doc, event_rules, context_rules, data_dir):
    doc = run_events(make_doc, event_rules, context_rules, data_dir, "手术切口少量渗出，予换药。")
    assert not [f for f in doc._.findings if f.category == "infusion_injury"]


def test_severity_levels(make_doc, event_rules, context_rules, data_dir):
    sev = {}
    for text in ["患者坠床后头部着地，抢救无效死亡。", "发药时发现药物拿错，及时拦截，未给患者服用。",
                 "患者夜间跌倒，未受伤，生命体征平稳。"]:
        doc = run_events(make_doc, event_rules, context_rules, data_dir, text)
        sev[text[:4]] = [f.severity for f in doc._.findings if f.kind == "event"]
    assert sev == {"患者坠床": ["I"], "发药时发": ["IV"], "患者夜间": ["III"]}


def test_critical_value_time_arithmetic():
    late = "14:05接危急值报告血钾6.9mmol/l,15:20通知医生处理。"
    ok = "14:05接危急值报告血钾6.9mmol/l,14:10通知医生处理。"
    assert critical_value_delay(late, (0, len(late)), "timing")
    assert not critical_value_delay(ok, (0, len(ok)), "timing")
