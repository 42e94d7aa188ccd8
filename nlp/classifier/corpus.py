"""Training sentences for the event-sentence classifier, written by the team as templates with slots.

Label 1: the sentence reports an adverse event that happened to THIS patient during THIS stay.
Label 0: hard negatives (negation, risk score/prevention, history before admission, plan/hypothesis, another
person, planned removal, expected death, allergy history) and ordinary clinical sentences.
These sentences are generated here and never taken from the evaluation sets (tests/data/events_test.jsonl and the
shared dev set are kept apart); ``generate(seed)`` is deterministic.
"""
from __future__ import annotations

import random

TIMES = ["", "今日", "今晨", "凌晨", "夜间", "02:30", "14时20分", "晚间", "中午", "午睡后", "下午", "交班前",
         "住院第3天", "术后第2天", "入院后第5天", "今天上午", "昨晚", "23:10"]
SUBJECTS = ["患者", "病人", "患儿", "该患者", "老人", "", "患者本人"]
HARM = ["", "，诉疼痛", "，局部红肿", "，未见明显损伤", "，生命体征平稳", "，予对症处理", "，已报告医生",
        "，通知值班医生查看", "，已上报护理部", "，予严密观察", "，予心电监护", "，请相关科室会诊",
        "，家属知晓", "，已做好交接", "，立即通知主管医生"]

# event clauses: what happened (filled into "{time}{subject}{clause}{harm}。")
EVENTS = {
    "fall": ["如厕时不慎跌倒", "下床时摔倒在地", "自行下床取物时跌坐于地", "从床上坠落", "翻越床栏坠床",
             "行走时滑倒", "洗澡时在浴室摔倒", "起身时双腿无力跌倒", "从轮椅上滑落", "被发现躺在床旁地上",
             "独自去卫生间途中跌倒，头部着地", "坐便后起身时跌倒，右髋部着地"],
    "pressure_injury": ["骶尾部出现2期压力性损伤", "足跟部皮肤发红压之不褪色", "髋部新发压疮", "枕部出现压疮",
                        "鼻导管压迫致耳廓皮肤破损", "骶尾部皮肤破溃，考虑压力性损伤", "臀部出现深部组织损伤",
                        "右侧坐骨结节处发生压疮"],
    "unplanned_extubation": ["自行拔除胃管", "自行拔出尿管", "躁动时拔出气管插管", "引流管意外滑脱",
                             "PICC导管脱出", "自拔鼻肠管", "翻身时胸腔引流管脱出", "用手扯出深静脉置管",
                             "发生非计划拔管"],
    "medication_error": ["被误服了邻床患者的药物", "漏服降压药", "被重复给予胰岛素", "输错液体",
                         "的药物剂量给错，医嘱5mg实际给予10mg", "被给错药", "的抗生素漏输一次",
                         "被经错误途径给药", "泵速设置错误导致药物快速输入", "发生给药错误"],
    "adverse_drug_reaction": ["输注头孢后出现全身皮疹", "用药后出现过敏反应", "静滴万古霉素后颜面潮红瘙痒",
                              "注射造影剂后出现呼吸困难血压下降", "服药后出现药疹", "用药后发生过敏性休克",
                              "使用吗啡后出现呼吸抑制，考虑药物不良反应", "输液时出现寒战高热，考虑输液反应"],
    "transfusion_reaction": ["输血时出现寒战高热", "输注红细胞后出现荨麻疹", "输血后出现酱油色尿",
                             "输注血浆时出现全身瘙痒", "发生输血反应", "输血过程中诉腰背部疼痛，立即停止输血"],
    "infusion_injury": ["输液处肿胀，考虑药液外渗", "穿刺点周围红肿疼痛", "发生化学性静脉炎",
                        "留置针处液体渗出", "沿静脉走向出现红线", "化疗药物外渗，局部发红肿胀"],
    "healthcare_associated_infection": ["出现切口感染", "发生呼吸机相关性肺炎", "发生导管相关性血流感染",
                                        "诊断导尿管相关尿路感染", "新发肺部感染", "发生医院感染",
                                        "切口有脓性分泌物渗出"],
    "surgical_event": ["因术后出血行非计划再次手术", "术中误伤输尿管", "发现纱布遗留腹腔", "返回手术室止血",
                       "手术部位错误", "术中损伤肠管", "二次手术清除血肿"],
    "identification_error": ["的标本与他人贴错", "的腕带信息与床头卡不符", "被输注了其他患者的药物",
                             "被护士认错", "的身份识别错误", "被误采血标本"],
    "self_harm_elopement": ["用刀片割腕", "试图自缢", "擅自离院", "走失", "跳楼", "吞服大量安眠药",
                            "外出未归", "撞墙自伤"],
    "cardiac_arrest_unexpected_death": ["突发心跳骤停", "突发室颤", "突然倒地，颈动脉搏动消失，立即心肺复苏",
                                        "突发心脏骤停，经抢救无效死亡", "猝死", "出现无脉性电活动"],
    "burn_scald": ["被热水袋烫伤", "使用烤灯致皮肤灼伤", "被开水烫伤手背", "电刀负极板处皮肤灼伤",
                   "艾灸后局部烫伤起水疱", "冰袋致皮肤冻伤"],
    "aspiration_choking": ["进食时噎食", "发生误吸", "进食时呛咳，口唇发绀", "喂奶后呛奶，面色青紫",
                           "鼻饲时呕吐误吸", "进食馒头时窒息，予海姆立克急救"],
    "restraint_injury": ["约束部位皮肤破损", "约束带过紧致腕部淤青", "约束处出现水疱", "约束手套佩戴过久致手背压红",
                         "约束带摩擦致腕部擦伤", "解除约束后发现踝部皮肤破溃", "保护性约束期间腕部出现勒痕",
                         "约束侧手指肿胀发紫", "因约束不当致皮下血肿"],
    "equipment_failure": ["使用的呼吸机突然故障", "输液泵黑屏无法工作", "监护仪死机", "微量泵故障",
                          "气垫床充气泵故障", "吸引器失灵"],
    "hospital_acquired_vte": ["下肢静脉彩超示深静脉血栓形成", "突发胸痛，CTPA示肺栓塞", "新发肌间静脉血栓",
                              "出现下肢肿胀，超声示腘静脉血栓"],
    "critical_value_delay": ["的危急值未及时通知医生", "的危急值报告延误2小时", "的危急值未及时处理",
                             "的危急值漏报"],
}
# short names of each event for the negative frames
NAMES = {
    "fall": ["跌倒", "坠床", "摔倒"], "pressure_injury": ["压疮", "压力性损伤"],
    "unplanned_extubation": ["非计划拔管", "管路滑脱", "导管脱出"], "medication_error": ["给药错误", "用药错误"],
    "adverse_drug_reaction": ["药物过敏反应", "药物不良反应", "过敏反应"], "transfusion_reaction": ["输血反应"],
    "infusion_injury": ["药液外渗", "静脉炎"], "healthcare_associated_infection": ["医院感染", "切口感染"],
    "surgical_event": ["再次手术", "术中损伤"], "identification_error": ["身份识别错误"],
    "self_harm_elopement": ["自杀", "走失", "自伤"], "cardiac_arrest_unexpected_death": ["心跳骤停", "心脏骤停"],
    "burn_scald": ["烫伤", "冻伤"], "aspiration_choking": ["误吸", "噎食", "窒息"],
    "restraint_injury": ["约束损伤"], "equipment_failure": ["设备故障"],
    "hospital_acquired_vte": ["深静脉血栓", "肺栓塞"], "critical_value_delay": ["危急值延误"],
}
NEG_FRAMES = [
    "否认{n}史", "{s}无{n}", "{s}未发生{n}", "{n}：无", "{n}风险评估：高危", "{n}风险评分{k}分，为高危",
    "预防{n}", "落实防{n}措施", "向家属宣教防{n}知识", "警惕{n}", "如出现{n}立即报告医生", "注意防止{n}",
    "入院前{k}天在家中发生{n}", "既往有{n}史", "{k}年前曾发生{n}", "院外带入{n}", "其母亲曾发生{n}",
    "同病房患者发生{n}", "家属{k}年前发生{n}", "有发生{n}的风险", "告知家属{n}的可能", "{s}住院期间未发生{n}",
    "本班无{n}发生", "组织{n}应急演练", "拟行预防{n}干预", "评估{n}风险，落实预防措施", "{s}因{n}入院",
    "主诉：{n}后{k}小时", "未见{n}", "排除{n}", "{s}担心发生{n}", "防范{n}，加强巡视",
]
# narrative history as admission notes write it: an event of an EARLIER stay or treatment
HISTORY_FRAMES = [
    "{y}年在外院行手术，术后出现{n}，予对症治疗后好转出院", "{y}-{m}-{d}第{k}周期化疗后出现{n}，予对症处理",
    "诊断为“{n}”，给予治疗后好转出院", "以“{n}”收入院", "外院诊断：1.高血压 2.{n}", "出院后出现{n}，未予重视",
    "末次化疗时间{y}.{m}.{d}，化疗后出现{n}", "于{y}年{m}月在当地医院住院期间出现{n}", "曾因{n}住院治疗",
    "第{k}周期化疗过程中出现{n}，停药后好转", "{k}个月前因{n}在我院住院治疗",
]
PLAIN_NEG = [
    "患者一般情况可，饮食睡眠可，二便正常", "生命体征平稳，继续目前治疗", "遵医嘱拔除尿管，自解小便通畅",
    "遵医嘱拔除胃管，无不适", "予拔除腹腔引流管，切口敷料干燥", "输血过程顺利，无不良反应",
    "用药后无不适主诉", "过敏史：对青霉素过敏", "过敏史：对海鲜过敏", "否认药物食物过敏史",
    "穿刺点无红肿渗出", "管路固定妥当，引流通畅", "床栏拉起，呼叫器置于手边", "皮肤完好，无破损",
    "约束部位皮肤完好，末梢循环良好", "设备性能良好，处于备用状态", "双下肢静脉彩超未见血栓",
    "家属放弃抢救，患者心跳呼吸停止，宣布临床死亡", "临终患者，家属拒绝心肺复苏", "术后切口愈合良好",
    "核对患者身份无误后给药", "接危急值报告后立即通知医生处理", "Braden评分12分，予气垫床",
    "Morse评分45分，挂防跌倒标识", "Caprini评分5分，予低分子肝素预防", "洼田饮水试验3级，予鼻饲",
    "术前谈话告知可能出现出血、感染、血栓等并发症", "拟明日行二期手术", "如保守治疗无效需再次手术",
    "有自杀观念，专人看护", "防走失，佩戴定位手环", "热水袋使用前检查，防烫伤", "手术切口少量渗出，予换药",
    "咳嗽咳痰，双肺可闻及湿啰音", "腹软，无压痛反跳痛", "心率78次/分，律齐", "血压130/80mmHg",
    "继续抗感染治疗", "复查血常规", "予吸氧、心电监护", "患者入院后予完善相关检查",
]


def generate(seed: int = 13, per_category: int = 160, negatives: int = 3200) -> list[tuple[str, int]]:
    """(sentence, 1 for an event / 0 for none)."""
    return [(t, 1 if cats else 0) for t, cats in generate_labelled(seed, per_category, negatives)]


def generate_labelled(seed: int = 13, per_category: int = 160, negatives: int = 3200) -> list[tuple[str, list[str]]]:
    """(sentence, [category] for an event / [] for none)."""
    rng = random.Random(seed)
    out: list[tuple[str, list[str]]] = []
    for cat, clauses in EVENTS.items():
        for _ in range(per_category):
            s = rng.choice(SUBJECTS)
            clause = rng.choice(clauses)
            if clause.startswith("的") and not s:
                s = "患者"
            harm = rng.choice(HARM) if rng.random() < 0.6 else ""
            end = rng.choice(["。", "。", "。", "", "；"])
            out.append((f"{rng.choice(TIMES)}{s}{clause}{harm}{end}", [cat]))
    names = [(c, n) for c, ns in NAMES.items() for n in ns]
    for _ in range(negatives):
        r = rng.random()
        if r < 0.2:
            _, n = rng.choice(names)
            text = rng.choice(HISTORY_FRAMES).format(n=n, y=rng.randint(2005, 2023), m=rng.randint(1, 12),
                                                     d=rng.randint(1, 28), k=rng.randint(1, 9))
        elif r < 0.8:
            _, n = rng.choice(names)
            text = rng.choice(NEG_FRAMES).format(n=n, s=rng.choice(SUBJECTS), k=rng.randint(1, 9))
            if rng.random() < 0.4:
                text += rng.choice(HARM[1:] + ["，已落实措施", "，继续观察", "，家属表示理解", "，加强巡视"])
        else:
            text = rng.choice(PLAIN_NEG)
        if rng.random() < 0.3:
            text = rng.choice(TIMES) + text
        out.append((text + rng.choice(["。", "。", "。", "", "；"]), []))
    rng.shuffle(out)
    return out
