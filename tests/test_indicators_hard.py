"""Regression tests for the indicator fixes of issue 16 (hard negatives and legitimacy).

Each case is a false hit or a miss that was measured on the hard set: a domain read as a
destination, a legal wage read as "too good", a passport kept "by the administrator" that
was missed, a hit shown without evidence, legitimacy that did not count.
"""

from __future__ import annotations

import pytest

from trafficking_ads.corpus.hard import load_hard
from trafficking_ads.corpus.seed import load_seed
from trafficking_ads.indicators.engine import MAX_EVIDENCE, default_engine
from trafficking_ads.records import Ad, Assessment, IndicatorHit, ModelInfo


@pytest.fixture(scope="module")
def engine():
    return default_engine()


def hits(engine, text: str, **fields) -> dict[str, IndicatorHit]:
    return {h.id: h for h in engine.extract(Ad(text=text, **fields))}


def spans(hit: IndicatorHit) -> list[str]:
    return [e.text for e in hit.evidence]


# --- domains are not destinations ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Warehouse operatives, Leeds. Apply at www.northgatelogistics.co.uk/careers or jobs@northgate.co.uk",
        "Резюме: hr@dubai-careers.com, сайт dubai-careers.com",
        "Kitchen porter. See fellsidehotel.co.uk/jobs",
        "Пишите: t.me/korea_jobs_official",
    ],
)
def test_a_place_inside_an_address_is_not_a_destination(engine, text):
    assert "travel_abroad_offer" not in hits(engine, text)


def test_a_named_country_still_is_a_destination(engine):
    h = hits(engine, "Seasonal pickers for farms in the UK. Apply: jobs@farm.co.uk")
    assert spans(h["travel_abroad_offer"]) == ["UK"]


# --- pay against the destination's market ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Care assistant, Birmingham. £12.71 per hour, visa sponsorship. careers@maplegrove.co.uk",
        "Warehouse operative. £12.21 per hour, immediate start.",  # pounds: judged against UK pay
        "Медсёстры в клиники Германии, зарплата 2 800 евро в месяц до налогов.",
        "Nurses for hospitals in Germany: EUR 2,800 per month gross.",
        "Германиядағы клиникаларға мейірбикелер, жалақы айына 2 800 еуро.",
        "Registered Nurses, Toronto hospital. CAD 42–56 per hour under the collective agreement.",
        "Au pair in Germany: 30 hours a week, EUR 280 pocket money a month.",
    ],
)
def test_legal_wages_abroad_are_not_unrealistic(engine, text):
    assert "pay_unrealistic" not in hits(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "Хостес в Дубай, от 5000$ в месяц",
        "Girls for a club in Dubai, USD 6,000 a month",
        "Упаковщики в Германию, 9 000 евро в месяц без опыта",
    ],
)
def test_pay_far_above_the_market_still_fires(engine, text):
    assert "pay_unrealistic" in hits(engine, text)


def test_the_nearest_period_word_before_the_amount_sets_the_period(engine):
    # "30 сағат" (hours) comes before "айына" (a month): the amount is monthly.
    analysis = engine.analyze(Ad(text="Аптасына 30 сағат, айына 280 € қалта ақшасы"))
    assert [(p.amount, p.period) for p in analysis.pays] == [(280.0, "month")]


# --- passports kept "for registration" --------------------------------------------------


@pytest.mark.parametrize(
    "text,span",
    [
        ("На время оформления регистрации паспорт хранится у администратора.", "паспорт хранится у администратора"),
        (
            "Паспорт на время оформления регистрации у нас хранится у администратора, выдаётся по запросу.",
            "Паспорт на время оформления регистрации у нас хранится у администратора",
        ),
        (
            "Паспорт и миграционная карта по приезде сдаются администратору для постановки на учёт.",
            "Паспорт и миграционная карта по приезде сдаются администратору",
        ),
        ("Тіркеуге қою үшін төлқұжат әкімшіде сақталады.", "төлқұжат әкімшіде сақталады"),
        ("Жеке куәлігіңізді қожайынға қалдырасыз.", "куәлігіңізді қожайынға қалдырасыз"),
        ("For registration purposes your passport is kept by the administrator.", "passport is kept"),
        ("On arrival you hand your passport to the manager for registration.", "hand your passport to"),
    ],
)
def test_passport_kept_by_the_administrator_is_documents_retained(engine, text, span):
    h = hits(engine, text)
    assert span in spans(h["documents_retained"])


@pytest.mark.parametrize(
    "text",
    [
        "Паспорт остаётся у вас.",
        "Не отдавайте паспорт работодателю.",
        "Төлқұжат өзіңізде қалады.",
        "You keep your passport.",
        "Workers keep their own passports as Qatari law requires.",
    ],
)
def test_a_passport_the_worker_keeps_is_not_retained(engine, text):
    assert "documents_retained" not in hits(engine, text)


def test_keeping_the_passport_is_legitimacy_evidence(engine):
    h = hits(engine, "Работа в Польше, договор до выезда. Паспорт остаётся у вас.")
    assert h["documents_kept"].weight < 0 and spans(h["documents_kept"]) == ["Паспорт остаётся у вас"]


# --- no indicator without evidence ------------------------------------------------------


def test_toronto_nurse_has_no_hit_without_evidence(engine):
    ad = next(a for a in load_hard() if a.meta["family"] == "en-leg-nurse-toronto")
    found = engine.extract(ad)
    assert found and all(h.evidence for h in found)
    assert "employer_unidentified" not in {h.id for h in found}  # the hospital is named
    assert engine.weights.score(found) < 0.35


def test_an_ad_naming_no_one_and_giving_no_contact_has_no_employer_hit(engine):
    # Before, `employer_unidentified` was reported here with no span at all.
    assert "employer_unidentified" not in hits(engine, "Требуются рабочие на склад, график 5/2.")


def test_the_anonymous_hirer_is_the_evidence(engine):
    h = hits(engine, "Хостес в Сеул. Авиабилеты компания оплачивает.")
    assert spans(h["employer_unidentified"]) == ["компания"]


def test_every_hit_on_the_written_sets_has_true_evidence(engine):
    for ad in load_seed() + load_hard():
        for h in engine.extract(ad):
            assert h.evidence, (ad.id, h.id)
            for e in h.evidence:
                assert getattr(ad, e.field)[e.start : e.end] == e.text, (ad.id, h.id, e)


# --- legitimacy shown like any indicator -----------------------------------------------


@pytest.mark.parametrize("family", ["ru-leg-agency-germany", "kk-leg-agency-germany", "en-leg-agency-germany"])
def test_licensed_agency_shows_its_legitimacy_with_spans(engine, family):
    ad = next(a for a in load_hard() if a.meta["family"] == family)  # the first of the family
    found = {h.id: h for h in engine.extract(ad)}
    for ind in ("employer_identified", "agency_licensed", "contract_offered", "no_worker_fee"):
        assert found[ind].weight < 0 and found[ind].evidence, (family, ind)
        assert found[ind].category == "legitimacy"
    assert "pay_unrealistic" not in found
    assert engine.weights.score(list(found.values())) < 0.05


@pytest.mark.parametrize(
    "text,span",
    [
        ("Агентство не берёт плату с кандидатов.", "не берёт плату"),
        ("Кандидаты ничего не оплачивают.", "ничего не оплачивают"),
        ("Үміткерлерден ешқандай ақы алынбайды.", "ешқандай ақы алынбайды"),
        ("We charge candidates no fees.", "charge candidates no fees"),
        ("Candidates pay no recruitment fee.", "pay no recruitment fee"),
    ],
)
def test_no_fee_to_the_worker(engine, text, span):
    h = hits(engine, text)
    assert span in spans(h["no_worker_fee"])
    assert "fee_upfront" not in h  # "pay ... fee" inside a no-fee statement is no fee


def test_a_fee_is_still_a_fee(engine):
    h = hits(engine, "Registration fee of $50 before departure.")
    assert "fee_upfront" in h and "no_worker_fee" not in h


def test_official_eps_channel_is_not_an_impersonated_scheme(engine):
    h = hits(engine, "Еңбек ұтқырлығы орталығы EPS-TOPIK емтиханына өтініш қабылдайды. Тіркеу тек орталықта.")
    assert "official_programme" in h and "impersonated_scheme" not in h


def test_a_paid_eps_without_the_exam_is_still_impersonated(engine):
    h = hits(engine, "Кореяға EPS бағдарламасы бойынша емтихансыз жұмысқа орналастырамыз. Алдын ала төлем 50%.")
    assert "impersonated_scheme" in h and "fee_upfront" in h


def test_contract_after_arrival_is_not_a_contract_offered(engine):
    h = hits(
        engine, "Waitresses for Bahrain. The employment contract is signed after arrival at the restaurant office."
    )
    assert "contract_missing" in h and "contract_offered" not in h


def test_registration_numbers_are_not_phones(engine):
    h = hits(engine, "ТОО «Евразия Персонал» (лицензия № 22005517, БИН 200640012345), Доха.")
    assert "contact_foreign_country" not in h


@pytest.mark.parametrize(
    "text,absent",
    [
        ("Дубайда жұмыс. Жатақхана бар, барлық жағдай жасалған.", "high_risk_role"),  # бар = "there is"
        ("Ұлыбританиядағы қарттар үйіне күтуші керек.", "high_risk_role"),  # a carer, not a nanny
        ("Ұжымдық шарт бойынша сағатына 42 доллар.", "appearance_age_gender"),  # бойынша, not бойы
    ],
)
def test_kazakh_words_that_looked_like_risk(engine, text, absent):
    assert absent not in hits(engine, text)


# --- evidence cap -----------------------------------------------------------------------


def test_evidence_is_capped_and_the_total_kept(engine):
    text = " ".join(f"Работа в Дубае №{i}." for i in range(50))
    h = hits(engine, text)["travel_abroad_offer"]
    assert len(h.evidence) == MAX_EVIDENCE == 20 and h.evidence_total == 50
    assert hits(engine, "Работа в Дубае")["travel_abroad_offer"].evidence_total is None
    # the count survives the assessment's JSON round trip
    a = Assessment("x", 0.5, "medium", [h], "ru", ModelInfo("indicators", "1"))
    back = Assessment.from_dict(a.to_dict())
    assert back.indicators[0].evidence_total == 50 and len(back.indicators[0].evidence) == 20
    old = {"id": "urgency", "category": "pressure", "weight": 0.4, "evidence": []}  # written before the field
    assert IndicatorHit.from_dict(old).evidence_total is None


# --- the hard set as a whole ------------------------------------------------------------


def test_hard_set_legitimate_ads_stay_low_and_the_score_separates(engine):
    from sklearn.metrics import roc_auc_score

    ads = load_hard()
    scores = [engine.weights.score(engine.extract(a)) for a in ads]
    legit = [(a.language, s) for a, s in zip(ads, scores) if a.label == 0]
    # measured after the fixes: 4 of 94 at medium or above (0 Kazakh); 20 of 94 before
    assert sum(s >= 0.35 for _, s in legit) <= 6
    assert sum(s >= 0.35 for lang, s in legit if lang == "kk") <= 2
    assert roc_auc_score([a.label for a in ads], scores) >= 0.95  # 0.965 measured; 0.874 before


def test_an_id_after_a_currency_code_is_not_pay(engine):
    # EMSCAD: "cad289401987349" (an id) was read as CAD 289,401,987,349 a month.
    analysis = engine.analyze(Ad(text="Job ref cad289401987349. Pay CAD 42 per hour."))
    assert [(p.amount, p.currency, p.period) for p in analysis.pays] == [(42.0, "CAD", "hour")]


@pytest.mark.parametrize(
    "text,span",
    [
        (
            "ТОО «CareWay» (уведомление МТСЗН № KZ77UVR00033210) набирает сиделок.",
            "уведомление МТСЗН № KZ77UVR00033210",
        ),
        ("Шетелде жұмысқа орналастыру, хабарлама № KZ41UBW00012345.", "хабарлама № KZ41UBW00012345"),
    ],
)
def test_an_agency_notification_number_counts_as_licensed(engine, text, span):
    assert span in spans(hits(engine, text)["agency_licensed"])


def test_a_passport_in_your_own_hands_is_kept(engine):
    h = hits(engine, "Шетелде жұмыс, паспорт тек өз қолыңызда сақталады.")
    assert "documents_kept" in h and "documents_retained" not in h


def test_skilled_professions_are_judged_by_the_general_bound(engine):
    # "Инженеры-строители" were read as construction labourers (Qatar manual bound $800).
    assert "pay_unrealistic" not in hits(engine, "Инженеры-строители в Катар, оклад 9 000 риалов в месяц.")
    assert "pay_unrealistic" in hits(engine, "Разнорабочие на стройку в Катар, 9 000 риалов в месяц.")
