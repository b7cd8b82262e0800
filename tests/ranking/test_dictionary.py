"""Key terms across languages: the Ding dictionary's format, its compiled form, and the pairs of
a German and an English text that translate each other.

The sample lines are written here in the Ding format (not copied from the dictionary); the
tests marked ``installed`` read Debian's ``trans-de-en`` and run where it is installed (CI sets
``MATCHMAKER_REQUIRE_DICTIONARY=1``, so there they must).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from matchmaker.config import Settings
from matchmaker.ranking.dictionary import (
    DEFAULT_PATH,
    Dictionary,
    compile_dictionary,
    open_dictionary,
    parse_line,
)
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.lexical import term
from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.types import Profile, TermPair

SAMPLE = """\
# Version :: test
Abwärme {f}; Abhitze {f} | Kraftwerksabwärme {f} :: waste heat; exhaust heat | power-station waste heat
Wärmepumpe {f} | Wärmepumpen {pl} :: heat pump | heat pumps
Druckluft {f} :: compressed air
Verdichter {m}; Kompressor {m} | Verdichter {pl}; Kompressoren {pl} :: compressor | compressors
laufen {vi} :: to run
schnell {adj} :: fast; quick
Stunde {f} | Stunden {pl} :: hour; lesson | hours
jdm. etw. geben {vt} :: to give sb. sth.
Halle {f} | Hallen {pl} :: hall | halls
Heizung {f} | Heizungen {pl} | Hallenheizung {f} :: heating | heatings
Leitung {f} (Rohr) :: pipe (conduit)
Ordnung {f} (Physik) :: order (physics (of fields))
"""


@pytest.fixture()
def sample(tmp_path: Path) -> Dictionary:
    source = tmp_path / "de-en"
    source.write_text(SAMPLE, encoding="utf-8")
    return Dictionary(compile_dictionary(source, tmp_path / "cache" / "de-en.sqlite"))


def test_parse_line_pairs_nouns_of_one_sense_with_its_english_phrases() -> None:
    pairs = list(parse_line(SAMPLE.splitlines()[1]))
    assert ("Abwärme", "waste heat") in pairs
    assert ("Abhitze", "exhaust heat") in pairs
    # Senses line up across " | ": the power station's waste heat is not plain Abwärme.
    assert ("Abwärme", "power-station waste heat") not in pairs
    assert ("Kraftwerksabwärme", "power-station waste heat") in pairs
    # Annotations are removed, nested parentheses leave no debris.
    assert list(parse_line("Leitung {f} (Rohr) :: pipe (conduit)")) == [("Leitung", "pipe")]
    assert list(parse_line("Ordnung {f} (Physik) :: order (physics (of fields))")) == []


def test_parse_line_skips_verbs_adjectives_placeholders_and_comments() -> None:
    assert list(parse_line("laufen {vi} :: to run")) == []
    assert list(parse_line("schnell {adj} :: fast; quick")) == []
    assert list(parse_line("jdm. etw. geben {vt} :: to give sb. sth.")) == []
    assert list(parse_line("# Version :: test")) == []
    assert list(parse_line("no separator here")) == []


def test_senses_that_do_not_line_up_keep_only_the_first() -> None:
    pairs = list(parse_line("Bank {f} | Bänke {pl} | Sitzbank {f} :: bench | benches"))
    assert pairs == [("Bank", "bench")]


def test_compiled_once_and_again_when_the_source_changes(tmp_path: Path) -> None:
    source = tmp_path / "de-en"
    source.write_text(SAMPLE, encoding="utf-8")
    target = tmp_path / "de-en.sqlite"
    compile_dictionary(source, target)
    built = target.stat().st_mtime_ns
    compile_dictionary(source, target)
    assert target.stat().st_mtime_ns == built  # current: not rebuilt
    source.write_text(SAMPLE + "Molke {f} :: whey\n", encoding="utf-8")
    compile_dictionary(source, target)
    assert Dictionary(target).translations(term("molke")) == (("whey", ("whey",)),)


def test_translations_are_looked_up_by_term_so_inflections_match(sample: Dictionary) -> None:
    phrases = [p for p, _ in sample.translations(term("wärmepumpen"))]
    assert phrases[0] == "heat pump"
    # Kompressor and Kompressoren share a term; compressor and compressors too: one entry.
    assert [p for p, _ in sample.translations(term("kompressoren"))] == ["compressor"]
    assert sample.translations(term("unbekannt")) == ()


def test_term_pairs_find_translations_in_the_other_text(sample: Dictionary) -> None:
    german = ["Wir wollen mit Wärmepumpen die Abwärme unserer Kompressoren für die Heizung nutzen."]
    english = ["We design heat pumps that recover waste heat from compressors to heat halls."]
    pairs = sample.term_pairs(german, english, {}, 1.0, 6, german_is_query=True)
    assert TermPair("Abwärme", "waste heat") in pairs  # the longest translation present
    assert TermPair("Kompressoren", "compressors") in pairs
    assert TermPair("Wärmepumpen", "heat pumps") in pairs  # as the English text writes it
    flipped = sample.term_pairs(german, english, {}, 1.0, 6, german_is_query=False)
    assert TermPair("waste heat", "Abwärme") in flipped


def test_term_pairs_look_up_nouns_not_sentence_starts_or_lower_case_words(
    sample: Dictionary,
) -> None:
    # "Stunden" only opens the sentence, "laufen" is a verb: neither is a key term.
    german = ["Stunden laufen die Anlagen, bis die Druckluft ausfällt."]
    english = ["The compressed air network runs for hours, as lessons from audits show."]
    pairs = sample.term_pairs(german, english, {}, 1.0, 6, german_is_query=True)
    assert pairs == [TermPair("Druckluft", "compressed air")]


def test_term_pairs_leave_out_words_spelt_the_same_in_both_texts(sample: Dictionary) -> None:
    german = ["Die Halle braucht eine neue Heizung."]
    english = ["Heating of the hall and of the halls."]
    pairs = sample.term_pairs(german, english, {}, 1.0, 6, german_is_query=True)
    # "Halle" and "hall" are one term: a shared term, not a translation.
    assert pairs == [TermPair("Heizung", "heating")]


def test_term_pairs_rank_rare_terms_first(sample: Dictionary) -> None:
    german = ["Die Abwärme der Kompressoren und die Heizung der Halle."]
    english = ["Waste heat of compressors and heating."]
    idf = {term("heating"): 1.0, term("waste"): 5.0, term("heat"): 1.2, term("compressors"): 3.0}
    pairs = sample.term_pairs(german, english, idf, 5.0, 3, german_is_query=True)
    assert [p.query for p in pairs] == ["Abwärme", "Kompressoren", "Heizung"]
    idf[term("heating")] = 9.0
    pairs = sample.term_pairs(german, english, idf, 5.0, 1, german_is_query=True)
    assert [p.query for p in pairs] == ["Heizung"]


def test_no_dictionary_when_the_file_is_missing_or_switched_off(tmp_path: Path) -> None:
    assert open_dictionary(tmp_path / "nowhere", tmp_path) is None
    assert open_dictionary("", tmp_path) is None


def test_evidence_of_a_german_query_and_an_english_group_names_translated_terms(
    sample: Dictionary, embedder: Embedder
) -> None:
    groups = [
        Profile(
            "g-heat",
            "Industrial heat pumps",
            "We design heat pumps that recover waste heat from compressors.",
            language="en",
        ),
        Profile(
            "g-bat", "Batteries", "We test lithium cells for stationary storage.", language="en"
        ),
    ]
    index = CandidateIndex.build(groups, embedder)
    query = Profile(
        "c-1",
        "Abwärme der Kompressoren",
        "Wir wollen die Abwärme unserer Kompressoren für die Heizung der Halle nutzen.",
        language="de",
    )
    assert index.explain(query, "g-heat").translations == []  # no dictionary: shared words only
    index.dictionary = sample
    evidence = index.explain(query, "g-heat")
    assert TermPair("Abwärme", "waste heat") in evidence.translations
    assert TermPair("Kompressoren", "compressors") in evidence.translations
    # The same language on both sides: nothing is translated.
    english_query = Profile("c-2", "Waste heat", "Waste heat of compressors.", language="en")
    assert index.explain(english_query, "g-heat").translations == []
    ranked = index.rank(query, top=2)
    assert ranked[0].candidate_id == "g-heat"
    assert ranked[0].evidence is not None and ranked[0].evidence.translations
    assert np.isfinite(ranked[0].score)


installed = pytest.mark.skipif(
    not DEFAULT_PATH.is_file() and not os.environ.get("MATCHMAKER_REQUIRE_DICTIONARY"),
    reason="Debian's trans-de-en is not installed (make dictionary)",
)


@installed
def test_the_installed_dictionary_translates_technical_terms() -> None:
    assert DEFAULT_PATH.is_file(), "MATCHMAKER_REQUIRE_DICTIONARY is set: make dictionary"
    # Compiled into the service's encoder cache, as the service does (once per machine).
    found = open_dictionary(None, Path(Settings.from_env().encoder_cache))
    assert found is not None
    expected = {
        "abwärme": "waste heat",
        "wärmepumpen": "heat pump",
        "druckluft": "compressed air",
        "kältemittel": "refrigerant",
        "instandhaltung": "maintenance",
    }
    for german, english in expected.items():
        assert english in [p for p, _ in found.translations(term(german))], german


def test_lexical_overlap_across_languages_through_the_dictionary_is_opt_in(
    sample: Dictionary, embedder: Embedder
) -> None:
    from dataclasses import replace

    from matchmaker.ranking.scoring import DEFAULT_CONFIG

    groups = [
        Profile(
            "g-heat", "Heat pumps", "Heat pumps and compressors for waste heat.", language="en"
        ),
        Profile("g-de", "Wärme", "Wir bauen Wärmepumpen und Kompressoren.", language="de"),
    ]
    index = CandidateIndex.build(groups, embedder)
    index.dictionary = sample
    query = Profile("c-1", "Abwärme", "Die Abwärme der Kompressoren nutzen.", language="de")
    english = Profile("c-2", "Compressors", "Waste heat of compressors.", language="en")
    _, off = index.score_matrix([query, english])
    on_config = replace(DEFAULT_CONFIG, lexical_translated=True)
    _, on = index.score_matrix([query, english], config=on_config)
    heat, german = index.position("g-heat"), index.position("g-de")
    # Off (the default): the lexical overlap of a German and an English text is not measured.
    assert off["lexical"][0, heat] == 0.0 and off["lexical"][1, german] == 0.0
    # On: the German query's translated words meet the English group, and the other way round.
    assert on["lexical"][0, heat] > 0.1
    assert on["lexical"][1, german] > 0.1
    # Same-language pairs are measured as before.
    assert on["lexical"][0, german] == pytest.approx(off["lexical"][0, german])
    assert on["lexical"][1, heat] == pytest.approx(off["lexical"][1, heat])
