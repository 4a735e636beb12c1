"""Active order: dev F against labelled sentences, report order vs most informative first.

A simulation. Incident-report sentences are generated from templates (in the style of
``annotator/data/demo_reports.jsonl``; fixed seed), so their gold COUNT, REGION and
OUTCOME spans are known by construction; the simulated annotators answer with the gold.
From a seed set (the first sentences in report order), each round trains a spancat
pipeline from scratch with the product's export config (``export.spacy_config.make_config``;
few steps), scores it on a held-out dev set (spaCy's ``spans_sc_f``), then labels the next
batch: the next sentences in report order, or the pool's most uncertain ones by the
product's own ``annotator.export.uncertainty.sentence_uncertainties`` (ties in report
order, as the queue ranks them). Both orders see the same seed, batches and training seed.

One JSON line per round ``{"name": "active_dev_f", "order", "labelled", "value", ...}``,
then ``{"name": "active_needed", "order", "target_f", "value": labelled sentences to reach
that dev F (null: not reached), ...}`` per order and ``--targets`` figure. Nothing asserts.

    python tests/benchmarks/bench_active.py [--pool N] [--dev N] [--seed-set N] [--batch N]
        [--rounds N] [--steps N] [--targets F,F,...] [--orders report,uncertain] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import time

import _common as c  # noqa: F401 - puts the repository on sys.path

LABELS = ("COUNT", "REGION", "OUTCOME")
REGIONS = [
    "Kursk", "Belgorod", "Bryansk", "Kharkiv", "Odesa", "Kherson", "Sumy", "Lviv", "Rostov", "Voronezh",
    "Kaluga", "Tula", "Oryol", "Lipetsk", "Tambov", "Smolensk", "Poltava", "Dnipro", "Mykolaiv", "Zhytomyr",
    "Chernihiv", "Vinnytsia", "Krasnodar", "Novorossiysk", "Taganrog", "Klintsy", "Rylsk", "Shebekino",
]  # fmt: skip
REGION_FORMS = ["{r}", "{r}", "{r} Oblast", "{r} region", "the {r} region"]
WORD_COUNTS = ["Two", "Three", "Five", "Seven", "Twelve", "Forty", "two", "three", "nine", "eighteen", "dozens of"]
WEAPONS = ["drones", "UAVs", "Shahed drones", "missiles", "cruise missiles", "glide bombs", "rockets"]
PASSIVE = ["shot down", "intercepted", "destroyed", "downed", "neutralised", "jammed"]
ACTIVE = ["shot down", "intercepted", "destroyed", "neutralised"]
# (weight, template): {C} COUNT, {W} weapon, {O} passive or {A} active OUTCOME, {R} REGION,
# {n} a number and {P} a place that are no span (a date, a toll; a place the reports come from).
TEMPLATES = [
    (8, "{C} {W} were {O} over {R} overnight."),
    (3, "Air defence units {A} {C} {W} over {R}, the governor said."),
    (2, "In {R}, {C} {W} were {O} before dawn."),
    (1, "The defence ministry said {C} {W} had been {O} above {R}."),
    (1, "According to officials in {P}, {C} {W} were {O} near {R} on {n} March."),
    (1, "{R} came under attack as {C} {W} were launched; most were {O}."),
    (2, "Debris damaged {n} houses in {R}."),
    (1, "Power was restored to {n} homes in {R} by noon."),
    (3, "No one was injured, the regional governor said."),
    (2, "Classes were moved online for the rest of the week."),
    (1, "Emergency crews from {P} cleared {n} streets by morning."),
    (1, "Flights to {P} were delayed for {n} hours."),
]
PLACES = ["Moscow", "Kyiv", "Minsk", "Warsaw", "Saint Petersburg", "Kazan"]


def sentence(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """One generated sentence and its gold spans (start_char, end_char, label)."""
    template = rng.choices([t for _, t in TEMPLATES], weights=[w for w, _ in TEMPLATES])[0]
    count = rng.choice([*WORD_COUNTS, str(rng.randint(2, 60))])
    fills = {
        "C": (count, "COUNT"),
        "W": (rng.choice(WEAPONS), None),
        "O": (rng.choice(PASSIVE), "OUTCOME"),
        "A": (rng.choice(ACTIVE), "OUTCOME"),
        "R": (rng.choice(REGION_FORMS).format(r=rng.choice(REGIONS)), "REGION"),
        "n": (str(rng.randint(2, 40)), None),
        "P": (rng.choice(PLACES), None),
    }
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        value, label = fills[key]
        if label is not None:
            value = value[0].upper() + value[1:] if not text else value
            spans.append((len(text), len(text) + len(value), label))
        text += value
    return text + rest, spans


def corpus(n: int, seed: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n)]


def examples(nlp, rows):
    from spacy.training import Example

    made = []
    for text, spans in rows:
        reference = nlp.make_doc(text)
        reference.spans["sc"] = [reference.char_span(s, e, label, alignment_mode="strict") for s, e, label in spans]
        made.append(Example(nlp.make_doc(text), reference))
    return made


def train(rows, config: str, steps: int, seed: int):
    """A spancat pipeline trained from scratch on ``rows`` for ``steps`` updates of 16 sentences."""
    from spacy import util

    util.fix_random_seed(seed)
    nlp = util.load_model_from_config(util.load_config_from_str(config), auto_fill=True)
    train_examples = examples(nlp, rows)
    optimizer = nlp.initialize(lambda: train_examples)
    rng = random.Random(seed)
    for _ in range(steps):
        nlp.update(rng.sample(train_examples, min(16, len(train_examples))), sgd=optimizer, drop=0.1)
    return nlp


def run(args) -> None:
    from annotator.export.spacy_config import make_config
    from annotator.export.uncertainty import sentence_uncertainties

    pool = corpus(args.pool, args.corpus_seed)
    dev = corpus(args.dev, args.corpus_seed + 1)
    config = make_config("spancat", LABELS, max_span_tokens=3)  # the longest gold span: "the Kursk region"
    needed: dict[tuple[str, float], int | None] = {}
    for order in args.orders:
        labelled = list(range(args.seed_set))
        for target in args.targets:
            needed[order, target] = None
        for round_ in range(args.rounds + 1):
            started = time.perf_counter()
            nlp = train([pool[i] for i in labelled], config, args.steps, args.train_seed)
            f = float(nlp.evaluate(examples(nlp, dev))["spans_sc_f"] or 0.0)
            for target in args.targets:
                if needed[order, target] is None and f >= target:
                    needed[order, target] = len(labelled)
            chosen = set(labelled)
            rest = [i for i in range(len(pool)) if i not in chosen]
            if order == "report":
                batch = rest[: args.batch]
            else:
                scores = sentence_uncertainties(nlp, [pool[i][0] for i in rest])
                batch = [i for _, i in sorted(zip(scores, rest, strict=True), key=lambda t: -t[0])[: args.batch]]
            print(
                json.dumps(
                    {
                        "name": "active_dev_f",
                        "order": order,
                        "round": round_,
                        "labelled": len(labelled),
                        "value": round(f, 4),
                        "unit": "F",
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                ),
                flush=True,
            )
            labelled += batch
    for (order, target), n in needed.items():
        print(
            json.dumps(
                {
                    "name": "active_needed",
                    "order": order,
                    "value": n,
                    "unit": "labelled sentences",
                    "target_f": target,
                    "pool": args.pool,
                    "dev": args.dev,
                    "seed_set": args.seed_set,
                    "batch": args.batch,
                    "steps": args.steps,
                }
            ),
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pool", type=int, default=600, help="unlabelled sentences to choose from")
    p.add_argument("--dev", type=int, default=200, help="held-out sentences scored each round")
    p.add_argument("--seed-set", type=int, default=20, help="sentences labelled before the first round")
    p.add_argument("--batch", type=int, default=20, help="sentences labelled per round")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--steps", type=int, default=150, help="training updates per round")
    p.add_argument(
        "--targets",
        type=lambda text: [float(t) for t in text.split(",")],
        default=[0.9, 0.95, 0.97, 0.99],
        help="the dev F figures whose cost in labelled sentences is reported, comma separated",
    )
    p.add_argument(
        "--orders",
        type=lambda text: text.split(","),
        default=["report", "uncertain"],
        help="the orders to simulate, comma separated (each is run alone with the same seeds)",
    )
    p.add_argument("--corpus-seed", type=int, default=13)
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke run well under a minute")
    args = p.parse_args()
    if args.quick:
        args.targets = [0.6, 0.7]
        args.pool, args.dev, args.seed_set, args.batch, args.rounds, args.steps = 120, 50, 10, 15, 2, 25
    run(args)


if __name__ == "__main__":
    main()
