"""Throughput of the indicator engine: ads per second on one core, 1,000-character ads.

    .venv/bin/python benchmarks/indicator_throughput.py [--ads 2000] [--chars 1000]

Ads are generated from phrase pools in Russian, Kazakh and English (risky and ordinary
phrases, contacts, emoji, obfuscated numbers), seeded, so runs are comparable. The
engine is built first (timed separately), then one warm-up pass fills the word caches
as a long scoring run would, then `extract` and `IndicatorScorer.score_many` are timed.
Both wall-clock and process CPU time are printed: on a shared machine CPU time is the
better estimate of single-core speed. One process, one thread.

Speed work on the engine must leave every result as it was: compare before and after
with benchmarks/indicator_snapshot.py (all hits, spans and scores over ~5,000 ads).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHRASES = {
    "ru": [
        "🔥 СРОЧНО! Работа в Дубае для девушек 🇦🇪",
        "Требуются хостес в премиум-клуб",
        "Девушки 18–25 лет, приятная внешность",
        "Билеты и проживание — за наш счёт ✈️",
        "от 3000$ в месяц + чаевые 💵",
        "Опыт и английский не нужны",
        "Пишите только в WhatsApp +971 55 418 27 06",
        "Требуется кладовщик на склад в Алматы",
        "График 5/2, официальное трудоустройство",
        "ТОО «АлматыЛогистик», ул. Толе би 101",
        "Зарплата 250 000 тенге, выплаты два раза в месяц",
        "Обязанности: приём и выдача товара, работа с накладными",
        "Звоните: 8 7O1 234 56 78",
        "Паспорт сдаётся работодателю",
        "Контракт подписываем на месте",
        "Оплата за оформление визы 50 000 тг",
        "Дружный коллектив, обучение",
        "Требования: ответственность, пунктуальность, знание 1С",
        "#работавдубае #хостес",
        "Проживание в общежитии компании",
    ],
    "kk": [
        "Дубайға қыздарға жұмыс! 🌴",
        "Хостес / даяшы керек 💃",
        "18–25 жас, сымбатты, келбеті жақсы",
        "Тәжірибе, ағылшын тілі керек емес",
        "Ұшақ билеті мен тұратын жер — біздің есептен ✈️",
        "Айына 3000–5000 $ + типтер",
        "Толық ақпарат тек WhatsApp-қа: +7 7О7 412 88 30",
        "Алматыдағы қоймаға кладовщик керек",
        "Кесте 5/2, ресми жұмысқа орналастыру",
        "«Қазақ Логистика» ЖШС, Абай даңғылы 52",
        "Жалақы айына 250 000 теңге",
        "Міндеттері: тауарды қабылдау, кассамен жұмыс",
        "Паспортты жұмыс берушіге тапсырасыз",
        "Келісімшарт сол жерде жасалады",
        "Тіркеу үшін төлем 15 000 теңге",
        "Ұжым тату, оқыту бар",
    ],
    "en": [
        "Hostess jobs in Dubai for girls aged 18-25!",
        "Earn up to $6000 per month",
        "Flights and visa covered by the club",
        "No experience or English needed",
        "Contact only on WhatsApp +971 55 987 6543",
        "Warehouse clerk wanted in Almaty",
        "Mon-Fri 9-18, employment contract, health insurance",
        "Acme Logistics LLP, 101 Tole Bi street",
        "Salary 350,000 KZT per month",
        "Duties: receiving goods, inventory, paperwork",
        "Passports are kept by the employer",
        "Contract signed on arrival",
        "Registration fee of $50",
        "Friendly team and paid training",
        "Apply at careers@acmelogistics.kz",
        "Call centre operators in Cambodia",
    ],
}
NOISE = ["\n", " ", " ✅ ", " ‼️ ", ". ", "\u200b", " 👉 "]


def make_ads(n: int, chars: int, seed: int = 7) -> list[str]:
    """n ads of about `chars` characters each, one language per ad, some mixed."""
    rng = random.Random(seed)
    langs = list(PHRASES)
    ads = []
    for i in range(n):
        lang = langs[i % 3]
        pool = PHRASES[lang] + (PHRASES["en"][:4] if rng.random() < 0.2 else [])
        parts: list[str] = []
        size = 0
        while size < chars:
            p = rng.choice(pool) + rng.choice(NOISE)
            parts.append(p)
            size += len(p)
        ads.append("".join(parts)[:chars])
    return ads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ads", type=int, default=2000)
    ap.add_argument("--chars", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes; best and median are printed")
    args = ap.parse_args(argv)
    from trafficking_ads.indicators.engine import IndicatorEngine
    from trafficking_ads.indicators.scorer import IndicatorScorer
    from trafficking_ads.records import Ad

    t0 = time.perf_counter()
    engine = IndicatorEngine()
    build = time.perf_counter() - t0
    texts = make_ads(args.ads, args.chars)
    ads = [Ad(text=t) for t in texts]
    for ad in ads:  # warm-up: lemma/stem caches, lingua models
        engine.extract(ad)
    walls, cpus = [], []
    for _ in range(args.repeat):
        w, c = time.perf_counter(), time.process_time()
        n_hits = sum(len(engine.extract(ad)) for ad in ads)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    scorer = IndicatorScorer(engine, engine_info(), {"medium": 0.35, "high": 0.7})
    walls2, cpus2 = [], []
    for _ in range(args.repeat):
        w2, c2 = time.perf_counter(), time.process_time()
        n_scored = sum(1 for _ in scorer.score_many(ads))
        walls2.append(time.perf_counter() - w2)
        cpus2.append(time.process_time() - c2)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"engine build: {build:.2f} s ({sum(len(v) for v in engine.entries.values())} pattern entries, {engine.matcher.size} token patterns)"
    )
    print(
        f"ads: {len(ads)} x {args.chars} chars, {n_hits / len(ads):.1f} hits/ad; load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    n = len(ads)

    def rates(ts: list[float]) -> str:
        ts = sorted(ts)
        return f"best {n / ts[0]:7.1f}  median {n / ts[len(ts) // 2]:7.1f}"

    print(f"extract     ads/s CPU (one core): {rates(cpus)}   wall: {rates(walls)}")
    print(f"score_many  ads/s CPU (one core): {rates(cpus2)}   wall: {rates(walls2)}  ({n_scored} scored)")
    return 0


def engine_info():
    from trafficking_ads.records import ModelInfo

    return ModelInfo(name="indicators", version="bench")


if __name__ == "__main__":
    raise SystemExit(main())
