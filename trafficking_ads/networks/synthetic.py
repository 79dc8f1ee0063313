"""Generated corpora with planted networks, for measuring clustering (not for training).

A planted network is one recruitment template reposted with a different city, numbers,
emoji and sometimes a changed phrase, from a small pool of phones and handles; some
networks use two templates that share a contact. Unrelated filler ads are drawn from a
large synthetic vocabulary so they share no template by construction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from ..records import Ad

TEMPLATES = [
    (
        "ru",
        "Работа в {city} для девушек {a}-{b} лет. Хостес в ночной клуб, зарплата от {pay}$ в неделю. Билеты и проживание за наш счёт. Опыт не нужен. Пишите только в WhatsApp {phone} {emoji}",
    ),
    (
        "ru",
        "Срочно требуются разнорабочие на стройку в {city}! Оплата {pay} руб в день, жильё предоставляем, паспорт сдаётся бригадиру для оформления. Выезд через {n} дня. Звонить {phone}",
    ),
    (
        "ru",
        "Ищем операторов колл-центра в {city}. Английский базовый, доход от {pay}$ в месяц, перелёт оплачиваем. Набор ограничен, осталось {n} мест! Telegram {handle} {emoji}",
    ),
    (
        "ru",
        "Модельное агентство приглашает девушек от {a} лет на работу в {city}. Рост от {n}0 см, приятная внешность. Фото в купальнике присылать в директ {handle}. Доход {pay}$",
    ),
    (
        "kk",
        "{city} қаласына {a}-{b} жастағы қыздар жұмысқа қажет. Айлығы {pay}$ бастап, билет пен тұрғын үй тегін. Тәжірибе қажет емес. Тек WhatsApp-қа жазыңыз {phone} {emoji}",
    ),
    (
        "kk",
        "Шетелге жұмыс! {city} зауытына ер адамдар керек. Жалақы {pay}$, тұрғын үй бар, төлқұжат жұмыс берушіде сақталады. Тіркеу ақысы {n}000 теңге. Байланыс {phone}",
    ),
    (
        "kk",
        "Үй қызметшісі {city} отбасына қажет, жасы {a}-{b}. Жалақы {pay}$, тамақ пен тұру тегін, келісімшарт келгеннен кейін жасалады. Хабарласыңыз {handle} {emoji}",
    ),
    (
        "en",
        "Hiring girls {a}-{b} for hostess jobs in {city}! Earn {pay}$ per week, flights and accommodation covered, no experience needed. Message on WhatsApp only {phone} {emoji}",
    ),
    (
        "en",
        "Online sales manager wanted in {city}. Basic English, salary {pay} USD monthly, free flight and housing, start in {n} days. Contact {handle} on Telegram {emoji}",
    ),
    (
        "en",
        "Work from home: process payments for our clients and keep {n}% of each transfer. Earn up to {pay}$ weekly, no interview. Send your bank card details to {email}",
    ),
    (
        "en",
        "Nanny needed for a family in {city}, age {a}-{b}, live-in, {pay} USD per month, visa arranged by us, passport kept by the agency for safety. Call {phone}",
    ),
    (
        "ru",
        "Набор на сезонную работу в {city} по госпрограмме! Сбор за оформление документов {n}0 000 тенге, трудоустройство гарантировано. Анкету и скан паспорта отправить на {email}",
    ),
]
CITIES = [
    "Дубай",
    "Стамбул",
    "Анталья",
    "Сеул",
    "Бахрейн",
    "Алматы",
    "Астана",
    "Шымкент",
    "Бангкок",
    "Пномпень",
    "Dubai",
    "Istanbul",
    "Seoul",
    "Manama",
    "Bangkok",
    "Karaganda",
    "Aktobe",
    "Taraz",
    "Pavlodar",
    "Atyrau",
]
EMOJI = ["🔥", "💰", "✈️", "🌴", "💃", "⭐️⭐️", "❗️❗️", "👉", ""]
VARIANTS = [
    ("", ""),
    ("Срочно! ", ""),
    ("", " Ждём вас!"),
    ("🔥 ", " 🔥"),
    ("Внимание! ", " Не упустите шанс."),
    ("", " Звоните сейчас."),
]


@dataclass
class Corpus:
    """Generated ads and the planted truth: ad id -> planted network / template (None for fillers)."""

    ads: list[Ad]
    truth: dict[str, str | None]
    template_truth: dict[str, str | None]


#: Kazakhstan mobile operator codes: a number must be valid to count as a contact, as it
#: must for the indicator engine (`indicators.contacts.parse_phone`).
KZ_MOBILE_CODES = (700, 701, 702, 705, 707, 708, 747, 771, 775, 776, 777, 778)


def _phone(rng: random.Random) -> str:
    code = KZ_MOBILE_CODES[(rng.randint(700, 778) - 700) % len(KZ_MOBILE_CODES)]  # same draws as before
    digits = f"7{code}{rng.randint(1000000, 9999999)}"
    style = rng.randrange(4)
    if style == 0:
        return f"+{digits[0]} {digits[1:4]} {digits[4:7]} {digits[7:9]} {digits[9:]}"
    if style == 1:
        return "8" + digits[1:]
    if style == 2:  # look-alike letter hides a zero
        return f"+{digits[0]} {digits[1:4]} {digits[4:7]} {digits[7:]}".replace("0", "О", 1)
    return f"+{digits[0]}({digits[1:4]}){digits[4:7]}-{digits[7:9]}-{digits[9:]}"


def _same_phone_other_style(phone: str, rng: random.Random) -> str:
    digits = "".join(ch for ch in phone.replace("О", "0") if ch.isdigit())
    digits = "7" + digits[1:] if digits.startswith("8") else digits
    return rng.choice([f"+{digits}", "8" + digits[1:], f"+7 {digits[1:4]} {digits[4:7]} {digits[7:9]} {digits[9:]}"])


def _filler(rng: random.Random, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(30, 120))).capitalize() + "."


def generate(
    n_networks: int = 40, n_fillers: int = 400, seed: int = 7, min_posts: int = 3, max_posts: int = 8
) -> Corpus:
    """A corpus of planted networks and unrelated fillers (fixed `seed`: the same corpus every time)."""
    rng = random.Random(seed)
    syllables = ["ка", "ро", "ми", "ла", "ту", "не", "ва", "зо", "ри", "ба", "до", "ку", "se", "ta", "lo", "mi"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(5000)]
    ads: list[Ad] = []
    truth: dict[str, str | None] = {}
    template_truth: dict[str, str | None] = {}
    for net in range(n_networks):
        phones = [_phone(rng) for _ in range(rng.randint(1, 2))]
        handle = "@" + rng.choice(["work", "job", "rabota", "jumys", "hr"]) + f"_{net}_{rng.randint(10, 99)}"
        email = f"{rng.choice(['hr', 'jobs', 'visa'])}{net}@{rng.choice(['gmail.com', 'mail.ru', 'yandex.kz'])}"
        # Every second network reposts two templates that share its contacts.
        templates = rng.sample(range(len(TEMPLATES)), 2 if net % 2 else 1)
        for t in templates:
            lang, template = TEMPLATES[t]
            for post in range(rng.randint(min_posts, max_posts)):
                a = rng.randint(17, 22)
                before, after = rng.choice(VARIANTS)
                phone = rng.choice(phones)
                shown = phone if rng.random() < 0.5 else _same_phone_other_style(phone, rng)
                if phone != phones[0]:  # a second number is always posted beside the first
                    shown += " / " + _same_phone_other_style(phones[0], rng)
                text = (
                    before
                    + template.format(
                        city=rng.choice(CITIES),
                        a=a,
                        b=a + rng.randint(5, 10),
                        pay=rng.randint(8, 60) * 100,
                        n=rng.randint(2, 9),
                        phone=shown,
                        handle=handle,
                        email=email,
                        emoji=rng.choice(EMOJI),
                    )
                    + after
                )
                if "{phone}" not in template:  # the network's number links its templates
                    text += "\n☎ " + _same_phone_other_style(phones[0], rng)
                ad = Ad(
                    text=text,
                    id=f"net{net}-t{t}-{post}",
                    language=lang,
                    location=rng.choice(CITIES),
                    posted_at=f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
                )
                ads.append(ad)
                truth[ad.id] = f"net{net}"
                template_truth[ad.id] = f"t{t}"
    for i in range(n_fillers):
        ad = Ad(text=_filler(rng, vocab), id=f"filler-{i}", language="xx")
        ads.append(ad)
        truth[ad.id] = template_truth[ad.id] = None
    rng.shuffle(ads)
    return Corpus(ads, truth, template_truth)


def pair_scores(truth: dict[str, str | None], predicted: dict[str, str]) -> dict[str, float | int]:
    """Pair precision and recall: of predicted same-cluster pairs, how many are planted, and vice versa.

    `predicted` maps ad id -> cluster id for clustered ads (singletons may be absent).
    """
    from collections import Counter

    def pairs_within(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
        out = set()
        for ids in groups.values():
            ids = sorted(ids)
            out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
        return out

    planted: dict[str, list[str]] = {}
    for ad_id, net in truth.items():
        if net is not None:
            planted.setdefault(net, []).append(ad_id)
    found: dict[str, list[str]] = {}
    for ad_id, cl in predicted.items():
        found.setdefault(cl, []).append(ad_id)
    p_true, p_pred = pairs_within(planted), pairs_within(found)
    tp = len(p_true & p_pred)
    sizes = Counter(predicted.values())
    fillers_merged = sum(1 for ad_id, cl in predicted.items() if truth.get(ad_id) is None and sizes[cl] > 1)
    return {
        "planted_pairs": len(p_true),
        "predicted_pairs": len(p_pred),
        "true_pairs_found": tp,
        "pair_precision": tp / len(p_pred) if p_pred else 1.0,
        "pair_recall": tp / len(p_true) if p_true else 1.0,
        "fillers_merged": fillers_merged,
    }


_SPOKEN_RU = "ноль один два три четыре пять шесть семь восемь девять".split()
_KEYCAP = "\ufe0f\u20e3"
_PLANTED_PHONE = re.compile(r"\+?[78][\s(]*\d[\dО]{2}[\s)]*\d{3}[\s-]*\d{2}[\s-]*\d{2}")


def _obfuscate(phone: str, rng: random.Random) -> str:
    digits = re.sub(r"\D", "", phone.replace("О", "0"))
    if len(digits) != 11:
        return phone
    style = rng.randrange(4)
    if style == 0:  # spelled out
        return " ".join(_SPOKEN_RU[int(d)] for d in digits)
    if style == 1:  # keycap emoji
        return "".join(d + _KEYCAP for d in digits)
    if style == 2:  # look-alike letters for digits
        return f"8 {digits[1:4].replace('0', 'D')} {digits[4:7]} {digits[7:9].replace('6', 'б')} {digits[9:]}"
    return phone


def obfuscate_phones(corpus: Corpus, seed: int = 5) -> Corpus:
    """The corpus with each planted phone rewritten at random as spelled-out digits, keycap
    emoji, look-alike digits ("8 7D1 234 5б 78") or left as it was: the ways recruiters dodge
    filters, which the networks must still link. Fillers are unchanged."""
    rng = random.Random(seed)
    ads = [
        replace(ad, text=_PLANTED_PHONE.sub(lambda m: _obfuscate(m.group(0), rng), ad.text))
        if corpus.truth[ad.id]
        else ad
        for ad in corpus.ads
    ]
    return Corpus(ads, corpus.truth, corpus.template_truth)
