"""Deduplication: the comparison form, the known EMSCAD overlap, label-aware near duplicates, groups."""

from __future__ import annotations

import pytest

from trafficking_ads.corpus.dedup import char_shingle_hashes, deduplicate, normalize_tokens, similarity
from trafficking_ads.corpus.loaders import load_emscad_preprocessed, load_emscad_raw
from trafficking_ads.records import Ad


def test_normalize_matches_raw_and_preprocessed_forms():
    raw = "Corporate overviewAker Solutions is a global provider of products &amp; services. Go to #URL_0fa3f7c5# for more."
    pre = "corporate overview aker solutions global provider products amp services go"
    assert normalize_tokens(raw) == normalize_tokens(pre)
    # glued words in one copy only still give identical character shingles
    a = char_shingle_hashes(normalize_tokens("administrative assistant essential job responsibilities answering calls"))
    b = char_shingle_hashes(normalize_tokens("administrative assistantessential job responsibilities answering calls"))
    assert similarity(a, b) == (1.0, 1.0)
    assert len(char_shingle_hashes(["short"])) == 1 and len(char_shingle_hashes([])) == 0


def test_known_overlap_eric_miao_jae1654(shared_data):
    """Eric-Miao's files hold the frauds of jae1654 (README); dedup must find them and keep the raw copy."""
    jae = load_emscad_raw(shared_data / "emscad/jae1654_fraudulent.csv")
    eric = load_emscad_preprocessed(shared_data / "emscad/eric_miao_train_balanced.csv") + load_emscad_preprocessed(
        shared_data / "emscad/eric_miao_test_balanced.csv"
    )
    r = deduplicate(jae + eric)
    by_id = {a.id: a for a in jae + eric}
    jae_ids = {a.id for a in jae}
    eric_to_jae = [x for x in r.removed if x["duplicate_of"] in jae_ids and x["id"] not in jae_ids]
    assert len(eric_to_jae) >= 300
    assert all(by_id[x["id"]].label == 1 for x in eric_to_jae)
    # the raw copy is always the one kept: no jae ad gives way to a preprocessed copy
    assert not [x for x in r.removed if x["id"] in jae_ids and x["duplicate_of"] not in jae_ids]
    # nearly every jae ad (directly, or through its jae near-twin) has its preprocessed copy found
    reps = {x["duplicate_of"] for x in eric_to_jae}
    covered = reps | {x["id"] for x in r.removed if x["id"] in jae_ids and x["duplicate_of"] in reps}
    assert len(covered) >= 195, len(covered)
    kept = {a.id for a in r.kept}
    assert jae_ids - {x["id"] for x in r.removed} <= kept
    assert r.stats["exact_duplicates_removed"] + r.stats["near_duplicates_removed"] == len(r.removed)


def _ad(i: str, text: str, label: int, source: str = "emscad:x.csv", **meta) -> Ad:
    return Ad(text=text, id=i, label=label, source=source, language="en", meta=meta)


BASE = (
    "We are hiring data entry clerks to work from home with flexible hours. Applicants must own a computer, "
    "reliable internet and be able to type forty words per minute. Training is provided online and payment "
    "is weekly by direct deposit. Send your resume and phone number today to start next Monday."
)


def test_near_duplicates_label_aware_and_grouped():
    ads = [
        _ad("a", BASE, 1),
        _ad("b", BASE.replace("next Monday", "Monday"), 1),  # near duplicate, same label -> removed
        _ad("c", BASE.replace("today", "now"), 0),  # near duplicate, other label -> kept, same group
        _ad(
            "d",
            "Licensed nurse for a city hospital. Night shifts, union contract, pension plan and on-site parking.",
            0,
        ),
        _ad(
            "e", BASE.lower().replace(".", ""), 1, source="emscad:pre.csv", preprocessed=True
        ),  # exact in comparison form
    ]
    r = deduplicate(ads)
    kept = {a.id for a in r.kept}
    assert kept == {"a", "c", "d"}
    kinds = {x["id"]: (x["kind"], x["duplicate_of"]) for x in r.removed}
    assert kinds == {"e": ("exact", "a"), "b": ("near", "a")}
    assert r.groups["a"] == r.groups["c"] != r.groups["d"]
    assert r.stats["near_label_conflicts"] == 2  # pairs (a, c) and (b, c)


def test_seed_templates_group_and_variants_kept():
    v1 = "Работа в Дубае для девушек 18-25, билеты и проживание за наш счёт, пишите в WhatsApp, опыт не нужен, зарплата от 3000 долларов"
    ads = [
        _ad("s1", v1, 1, source="seed", template="t1"),
        _ad("s2", v1.replace("3000", "3500"), 1, source="seed", template="t1"),
        _ad(
            "s3",
            "Требуется бухгалтер в ТОО Алем, официальное оформление, офис на Абая 10",
            0,
            source="seed",
            template="t1",
        ),
        _ad("s4", "Совсем другой текст про вакансию водителя категории C в Астане", 0, source="seed", template="t2"),
    ]
    r = deduplicate(ads)
    assert {a.id for a in r.kept} == {"s1", "s2", "s3", "s4"}
    assert r.groups["s1"] == r.groups["s2"] == r.groups["s3"] != r.groups["s4"]
    r2 = deduplicate(ads, keep_seed_variants=False)
    assert {a.id for a in r2.kept} == {"s1", "s3", "s4"}


@pytest.mark.parametrize("seed", [1, 2])
def test_dedup_is_deterministic(seed):
    ads = [_ad(str(i), BASE + f" Reference {i}.", 1) for i in range(5)]
    assert deduplicate(ads, seed=seed).groups == deduplicate(ads, seed=seed).groups


PROFILE = (
    "Northwind Logistics is a family owned freight forwarder serving the Midwest since 1987 with "
    "warehouses in Columbus Dayton and Toledo and a fleet of two hundred trucks driven by our own staff"
)


def test_shared_boilerplate_or_contact_joins_groups():
    """Different jobs of one company (same profile paragraph) or one recruiter (same phone) must
    not straddle a split, although their whole texts are far apart."""
    ads = [
        Ad(
            id="a",
            text=PROFILE + ". We are hiring a forklift operator for night shifts in the Columbus cross dock: loading "
            "and unloading trailers, cycle counts, keeping aisles clear, reporting damaged pallets to the shift lead, "
            "certified forklift licence required, steel toe boots provided, overtime paid weekly at time and a half, "
            "health dental and vision insurance after sixty days, a retirement plan with company match.",
            label=0,
        ),
        Ad(
            id="b",
            text="Accounts payable clerk wanted to process invoices and vendor statements, match purchase orders "
            "and receiving documents, resolve discrepancies with suppliers, prepare weekly check runs and ACH batches, "
            "reconcile the ledger at month end, assist auditors, associate degree in accounting preferred, "
            "experience with Dynamics GP a plus, hybrid schedule after training. " + PROFILE,
            label=0,
        ),
        Ad(
            id="c",
            text="Работа в Дубае для девушек, билеты за наш счёт. Пишите +7 701 555 12 34",
            label=1,
            language="ru",
        ),
        Ad(
            id="d",
            text="Требуются официантки в Стамбул, жильё бесплатно, звоните +7 701 555 12 34",
            label=1,
            language="ru",
        ),
        Ad(
            id="e",
            text="Senior Python developer for a fintech startup in London, remote friendly, equity offered.",
            label=0,
        ),
    ]
    groups = deduplicate(ads).groups
    assert groups["a"] == groups["b"] and groups["c"] == groups["d"]
    assert len({groups["a"], groups["c"], groups["e"]}) == 3
    whole_text = deduplicate(ads, boilerplate_tokens=0).groups  # the previous grouping kept them apart
    assert whole_text["a"] != whole_text["b"] and whole_text["c"] != whole_text["d"]
