"""Write the torch reference outputs that ``tests/test_models.py`` checks the ONNX models against.

Needs the ``train`` extra (torch, sentence-transformers, transformers):
``python training/make_reference_vectors.py`` writes
``tests/fixtures/reference_outputs.json``: the sentence-transformers embeddings of
20 fictional sentences and the torch judge's probabilities for 20 fictional
pairs (written for this project), with the hashes of the weights they came from.
Re-run it whenever ``storydesk/data/rewrite_judge.safetensors`` changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tests" / "fixtures" / "reference_outputs.json"
LONG = " ".join(["The council of Varnholt met again on Tuesday to hear residents of the river district,"
                 " who said the flood barriers had not been inspected since the spring thaw."] * 12)

SENTENCES = [
    "The Orvane bridge reopened on Friday after three weeks of repairs.",
    "Three weeks of repairs ended on Friday, when the Orvane bridge reopened to traffic.",
    "Mayor Ilse Marrow said the city would pay for the work from its reserve fund.",
    "\u201cWe will not raise taxes for this,\u201d Marrow told reporters outside city hall.",
    "About 1,200 commuters cross the bridge each morning, according to the transport office.",
    "The storm brought 140 mm of rain to the valley in under six hours.",
    "Schools in Kettering Vale stayed closed on Monday.",
    "A spokesperson for the Northfold Water Board declined to comment.",
    "Emergency crews evacuated 62 residents from the lower streets overnight.",
    "Police have not said whether anyone was injured.",
    "The fire started in a storage shed behind the Tallow Lane bakery at about 3 a.m.",
    "Investigators are still looking for the cause.",
    "Prices at the Brenmoor fuel depot rose by 8 % in October, the third rise this year.",
    "The union called the pay offer \u2018an insult to every nurse in the region\u2019.",
    "R\u00e9sum\u00e9s were sent to the caf\u00e9 owners' association in G\u00f6rlitz-on-Sea.",
    "ok",
    "Updated 14:05 GMT \u2014 adds the minister's statement.",
    "The ferry service between Aldcove and Pike Island will resume next week, weather permitting.",
    "   Lots of   spaces\tand a tab around these words.   ",
    LONG,  # longer than the encoder's 256 word pieces: tests truncation
]

PAIRS = [
    (SENTENCES[0], SENTENCES[1]),
    (SENTENCES[0], SENTENCES[6]),
    (SENTENCES[2], "The city will cover the cost of the work out of its reserve fund, Mayor Marrow said."),
    (SENTENCES[2], SENTENCES[3]),
    (SENTENCES[4], "Each morning roughly 1,200 commuters use the bridge, the transport office says."),
    (SENTENCES[4], "About 2,100 commuters cross the bridge each morning, according to the transport office."),
    (SENTENCES[5], "In less than six hours the valley received 140 mm of rain from the storm."),
    (SENTENCES[5], SENTENCES[8]),
    (SENTENCES[8], "Overnight, emergency crews moved 62 people out of the lower streets."),
    (SENTENCES[9], "It is not yet known if there were any injuries, police said."),
    (SENTENCES[10], "A shed behind the bakery on Tallow Lane caught fire around 3 a.m."),
    (SENTENCES[10], SENTENCES[11]),
    (SENTENCES[12], "Fuel prices at the Brenmoor depot went up 8 % last month."),
    (SENTENCES[12], SENTENCES[17]),
    (SENTENCES[13], "Nurses' union leaders said the offer insulted the whole profession."),
    (SENTENCES[14], SENTENCES[15]),
    (SENTENCES[7], "The Northfold Water Board did not respond to requests for comment."),
    (SENTENCES[17], "Ferries from Aldcove to Pike Island should run again next week if the weather allows."),
    (SENTENCES[3], "Marrow, speaking outside city hall, said taxes would rise to pay for the repairs."),
    (LONG, SENTENCES[0]),  # longer than the judge's 128 word pieces together: tests pair truncation
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer
    from storydesk.models.embeddings import fingerprint, model_path
    from storydesk.models.bert_onnx import file_digest
    from storydesk.models.judge import WEIGHTS
    from storydesk.models.judge_torch import reference_judge
    torch.manual_seed(0)
    st = SentenceTransformer(model_path(), device="cpu")
    vectors = st.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    proba = reference_judge().proba(PAIRS)
    out = {
        "made_by": "training/make_reference_vectors.py",
        "torch": torch.__version__,
        "model_sha256": fingerprint(),
        "judge_sha256": file_digest(WEIGHTS),
        "sentences": SENTENCES,
        "vectors": [[round(float(x), 8) for x in row] for row in vectors],
        "pairs": [list(p) for p in PAIRS],
        "proba": [round(float(p), 8) for p in proba],
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(SENTENCES)} vectors, {len(PAIRS)} judge probabilities "
          f"({sum(p >= 0.5 for p in proba)} rewrites) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
