"""Write the demo corpus: short stories with planted relations, deterministically.

    python corpora/make_demo.py                    # writes corpora/demo.txt
    python corpora/make_demo.py OUT --lines 2000 --seed 7

Every line is a little story of a few sentences about one person, one country
or one kind of thing, built from templates whose words carry the relations that
word vectors should find:

* people differ by sex (he / she), rank (royal / common) and age (grown / young):
  man : king :: woman : queen, boy : prince :: girl : princess;
* countries have a capital, a language and a river: france : paris :: italy : rome;
* verbs have a past tense and nouns a plural: walk : walked :: play : played.

The text is English-like, not English.  The same seed gives the same bytes.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

#: (male, female, rank, age)
PEOPLE = [
    ("king", "queen", "royal", "grown"),
    ("prince", "princess", "royal", "young"),
    ("duke", "duchess", "noble", "grown"),
    ("lord", "lady", "noble", "grown"),
    ("man", "woman", "common", "grown"),
    ("boy", "girl", "common", "young"),
    ("father", "mother", "family", "grown"),
    ("son", "daughter", "family", "young"),
    ("husband", "wife", "family", "grown"),
    ("brother", "sister", "family", "young"),
    ("uncle", "aunt", "family", "grown"),
    ("nephew", "niece", "family", "young"),
]
PRONOUNS = {"male": ("he", "his", "him", "himself"), "female": ("she", "her", "her", "herself")}
RANK_WORDS = {
    "royal": "palace throne crown kingdom court reign crowned royal realm jewels".split(),
    "noble": "castle estate manor title land hunt banquet noble servants horses".split(),
    "common": "village farm field market bread cottage harvest cart plough street".split(),
    "family": "home house kitchen garden dinner table parents children supper family".split(),
}
AGE_WORDS = {
    "grown": "old grown wise married worked ruled years".split(),
    "young": "young little small played learned school toys".split(),
}
#: (country, capital, language, river, region)
COUNTRIES = [
    ("france", "paris", "french", "seine", "europe"),
    ("italy", "rome", "italian", "tiber", "europe"),
    ("spain", "madrid", "spanish", "tagus", "europe"),
    ("germany", "berlin", "german", "spree", "europe"),
    ("england", "london", "english", "thames", "europe"),
    ("russia", "moscow", "russian", "volga", "europe"),
    ("greece", "athens", "greek", "cephissus", "europe"),
    ("poland", "warsaw", "polish", "vistula", "europe"),
    ("egypt", "cairo", "egyptian", "nile", "africa"),
    ("japan", "tokyo", "japanese", "sumida", "asia"),
    ("china", "beijing", "chinese", "yongding", "asia"),
    ("india", "delhi", "hindi", "yamuna", "asia"),
]
COUNTRY_WORDS = "country nation border government president economy province population army coast".split()
CITY_WORDS = "city capital streets mayor museum downtown bridge station square district".split()
#: (base, past)
VERBS = [
    ("walk", "walked"), ("play", "played"), ("jump", "jumped"), ("cook", "cooked"), ("paint", "painted"),
    ("sing", "sang"), ("write", "wrote"), ("see", "saw"), ("go", "went"), ("eat", "ate"),
    ("run", "ran"), ("swim", "swam"), ("read", "read"), ("build", "built"), ("speak", "spoke"),
]
#: (singular, plural)
NOUNS = [
    ("dog", "dogs"), ("cat", "cats"), ("horse", "horses"), ("bird", "birds"), ("apple", "apples"),
    ("tree", "trees"), ("book", "books"), ("ship", "ships"), ("sword", "swords"), ("flower", "flowers"),
    ("river", "rivers"), ("song", "songs"), ("coin", "coins"), ("stone", "stones"), ("child", "children"),
]
FILLER = "the a and of in on at to with then also very there one day that was it by".split()
NUMBERS = "two three four five six many several".split()


def _person_story(rng: random.Random) -> list[str]:
    male, female, rank, age = rng.choice(PEOPLE)
    sex = rng.choice(("male", "female"))
    who = male if sex == "male" else female
    he, his, him, himself = PRONOUNS[sex]
    place = rng.choice(RANK_WORDS[rank])
    thing = rng.choice(RANK_WORDS[rank])
    trait = rng.choice(AGE_WORDS[age])
    verb, past = rng.choice(VERBS)
    sentences = [
        f"the {who} lived in the {place} and {he} was {trait}",
        f"{he} saw {his} {thing} and {he} {past} to the {rng.choice(RANK_WORDS[rank])}",
        f"every day the {trait} {who} {verb}s near the {place}",
        f"people said the {who} kept the {thing} for {himself}",
        f"the {rng.choice(RANK_WORDS[rank])} belonged to {him} and the {who} was {rng.choice(AGE_WORDS[age])}",
    ]
    return rng.sample(sentences, rng.randint(2, 4))


def _country_story(rng: random.Random) -> list[str]:
    country, capital, language, river, region = rng.choice(COUNTRIES)
    sentences = [
        f"{capital} is the capital of {country}",
        f"the {rng.choice(CITY_WORDS)} of {capital} lies on the {river}",
        f"people in {capital} speak {language} in the {rng.choice(CITY_WORDS)}",
        f"{country} is a {rng.choice(COUNTRY_WORDS)} in {region} where people speak {language}",
        f"the {rng.choice(COUNTRY_WORDS)} of {country} reaches the {river}",
        f"the {rng.choice(CITY_WORDS)} and {rng.choice(CITY_WORDS)} of {capital} are famous",
        f"the {rng.choice(COUNTRY_WORDS)} of {country} has a large {rng.choice(COUNTRY_WORDS)}",
    ]
    return rng.sample(sentences, rng.randint(2, 4))


def _thing_story(rng: random.Random) -> list[str]:
    one, many = rng.choice(NOUNS)
    verb, past = rng.choice(VERBS)
    number = rng.choice(NUMBERS)
    sentences = [
        f"one {one} was here and {number} {many} were there",
        f"a {one} is small but {number} {many} are many",
        f"yesterday we {past} with the {many} and today we {verb} with a {one}",
        f"tomorrow they will {verb} and yesterday they {past}",
        f"the {many} {past} while one {one} will {verb}",
        f"we often {verb} but last year we {past} every day",
    ]
    return rng.sample(sentences, rng.randint(2, 4))


def _with_filler(rng: random.Random, sentence: str) -> str:
    words = sentence.split()
    for _ in range(rng.randint(0, 2)):
        words.insert(rng.randint(0, len(words)), rng.choice(FILLER))
    return " ".join(words)


def generate(lines: int, seed: int = 2013) -> list[str]:
    """``lines`` stories, the same for the same seed."""
    rng = random.Random(seed)
    stories = (_person_story, _country_story, _thing_story)
    out = []
    for _ in range(lines):
        sentences = rng.choice(stories)(rng)
        out.append(" . ".join(_with_filler(rng, s) for s in sentences) + " .")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=Path(__file__).with_name("demo.txt"), type=Path)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args()
    args.out.write_text("\n".join(generate(args.lines, args.seed)) + "\n", encoding="utf-8")
    print(f"wrote {args.lines} lines to {args.out}")


if __name__ == "__main__":
    main()
