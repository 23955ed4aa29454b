"""Statement groups: same statement across outlets grouped, support by source groups, contradictions."""
from __future__ import annotations

import numpy as np

from storydesk.records import Article, Source, SourceGroup, StatementGroup, Story
from storydesk.analysis.statements import agreeing_support, disagreement, group_statements, support_index, support_of
from storydesk.text import words

VOCAB: dict[str, int] = {}


def bag_embed(texts):
    """A stand-in sentence model: normalised bags of words (same words, same meaning)."""
    rows = []
    for t in texts:
        v = np.zeros(512, dtype=np.float32)
        for w in words(t.casefold()):
            v[VOCAB.setdefault(w, len(VOCAB) % 512)] += 1
        rows.append(v / (np.linalg.norm(v) or 1))
    return np.stack(rows)


def art(aid: str, text: str) -> Article:
    return Article(id=aid, source=Source(format="txt"), text=text, language="en")


ARTS = [
    art("a", "The Brezna Dam failed overnight and flooded the town of Quellmoor. "
             "Rescuers searched the flooded streets of Quellmoor for survivors on Monday."),
    art("b", "The Brezna Dam failed overnight and flooded the whole town of Quellmoor. "
             "A choir sang in the school gym where families slept on camping mats."),
    art("c", "The Brezna Dam failed overnight and flooded the town of Quellmoor. "
             "Rescuers searched the flooded streets of Quellmoor for survivors on Tuesday."),
]
STORY = Story(id="s1", label="Brezna", article_ids=["a", "b", "c"])


def test_groups_count_independent_source_groups():
    independent = [SourceGroup("s1", x, [x]) for x in "abc"]
    groups = group_statements(STORY, ARTS, independent, embed=bag_embed)
    dam = next(g for g in groups if "Brezna" in g.text)
    assert {c.article_id for c in dam.citations} == {"a", "b", "c"}
    assert dam.independent_support == 3
    # b copies a: the two count once.
    copied = [SourceGroup("s1", "a", ["a", "b"]), SourceGroup("s1", "c", ["c"])]
    dam = next(g for g in group_statements(STORY, ARTS, copied, embed=bag_embed) if "Brezna" in g.text)
    assert dam.independent_support == 2
    index = support_index(groups)
    c = dam.citations[0]
    assert support_of(index, c.article_id, c.span) == 3
    assert support_of(index, "b", (999, 1000)) == 1
    assert StatementGroup.from_dict(dam.to_dict()) == dam


def test_unrelated_sentences_stay_apart_and_a_changed_day_is_flagged():
    groups = group_statements(STORY, ARTS, [SourceGroup("s1", x, [x]) for x in "abc"], embed=bag_embed)
    assert not any("choir" in g.text for g in groups)
    search = next(g for g in groups if "Rescuers" in g.text)
    assert [(x.kind, x.detail) for x in search.contradictions] == [("date", "monday / tuesday")]
    assert {search.contradictions[0].a.article_id, search.contradictions[0].b.article_id} == {"a", "c"}


def test_kinds_of_disagreement():
    assert disagreement("Officials said 17 people died in Selm District.",
                        "Officials said 23 people died in Selm District.")[0] == "figure"
    assert disagreement("Boats reached Hesk and two neighbouring hamlets on the river.",
                        "Boats reached Hesk and four neighbouring hamlets on the river.")[0] == "figure"
    assert disagreement("The embankment passed its last review, the authority said.",
                        "The embankment had not passed its last review, the authority said.")[0] == "negation"
    assert disagreement("Army helicopters were sent from Dravik to lift residents from rooftops.",
                        "Army helicopters were sent from Hesk to lift residents from rooftops.") == (
        "place", "Dravik / Hesk")
    assert disagreement("The water came faster than predicted, said engineer Farid Qassemi.",
                        "The water came faster than predicted, said commander Jonas Remek.")[0] == "actor"
    assert disagreement("The dam failed overnight in the valley.", "The dam failed overnight in the valley.") is None
    # Two different statements are not a contradiction, whatever their figures.
    assert disagreement("Officials said 17 people died.", "The hall holds about 700 camp beds tonight.") is None


def test_empty_and_non_english_do_not_crash():
    story = Story(id="s2", label="x", article_ids=["e", "f", "missing"])
    arts = [art("e", ""), Article(id="f", source=Source("txt"), text="Le barrage a cédé mardi soir à Lorrin.",
                                  language="fr")]
    assert group_statements(story, arts, [], embed=bag_embed) == []


def test_changed_figure_counts_the_same_thing_and_quoted_speaker_is_an_actor():
    assert disagreement("At least nine people were confirmed dead, and dozens more were reported missing.",
                        "At least nine people have died, and more than 60 are missing.") == ("figure", "dozens / 60")
    # The same figure for one thing and another figure for something else agree.
    assert disagreement("Nine people died and 31 homes were lost in the valley overnight.",
                        "Nine people died in the valley overnight, officials said.") is None
    assert disagreement('"The water came faster than predicted," Farid Qassemi told reporters in Lorrin.',
                        "\u201cThe water came faster than predicted,\u201d Remek said.") == (
        "actor", "Farid Qassemi / Remek")


def test_negation_must_negate_what_the_other_states():
    assert disagreement("Residents of Aubren were told to move to higher ground as a precaution.",
                        "Residents of Aubren were never told to move to higher ground, the council said.")[0] == "negation"
    # 'not located' and 'unaccounted for' say the same thing.
    assert disagreement("More than 40 people remain unaccounted for in the valley.",
                        "More than 40 people have still not been located in the valley.") is None


def test_different_quotations_and_two_sentences_of_one_article_do_not_group():
    arts = [art("q1", 'The spokesperson said "the contractor left the sluices rusting for a decade" about the authority. '
                      "The dam was built in 1974 on the river."),
            art("q2", 'The spokesperson said "the contractor never once inspected the eastern wall" about the authority. '
                      "The dam was built in 1974 on the river. The dam was built in 1974 on the river too.")]
    story = Story(id="s3", label="x", article_ids=["q1", "q2"])
    groups = group_statements(story, arts, [], embed=bag_embed, judge=lambda pairs: np.ones(len(pairs)))
    assert not any("spokesperson" in g.text for g in groups)
    built = [g for g in groups if "1974" in g.text]
    assert len(built) == 1 and sorted(c.article_id for c in built[0].citations) == ["q1", "q2"]


def test_judge_vetoes_a_link_and_support_leaves_out_contradicting_sources():
    independent = [SourceGroup("s1", x, [x]) for x in "abc"]
    no = group_statements(STORY, ARTS, independent, embed=bag_embed, judge=lambda pairs: np.zeros(len(pairs)))
    assert all(len({c.article_id for c in g.citations}) < 3 for g in no if "Rescuers" in g.text)
    groups = group_statements(STORY, ARTS, independent, embed=bag_embed)
    search = next(g for g in groups if "Rescuers" in g.text)
    a = next(c for c in search.citations if c.article_id == "a")
    assert agreeing_support(search, a, lambda x: x) == search.independent_support - 1


def _eager_complete_link(candidates, floor, article_of, accept):
    """The reference: judge every doubtful link first, then merge along the accepted ones."""
    cluster, where = {i: [i] for i in range(len(article_of))}, list(range(len(article_of)))
    for _, i, j, sure in candidates:
        if not (sure or accept(i, j)) or where[i] == where[j]:
            continue
        a, b = cluster[where[i]], cluster[where[j]]
        if not floor[np.ix_(a, b)].all() or {article_of[x] for x in a} & {article_of[y] for y in b}:
            continue
        keep = where[i]
        cluster[keep] = a + b
        for m in cluster.pop(where[j]):
            where[m] = keep
    return sorted(sorted(c) for c in cluster.values())


def test_judging_only_the_links_that_would_merge_gives_the_groups_of_judging_all():
    from storydesk.analysis.statements import _Link, _complete_link
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(4, 30))
        article_of = [f"a{k}" for k in rng.integers(0, max(2, n // 2), n)]
        floor = rng.random((n, n)) > 0.2
        floor = floor & floor.T
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if article_of[i] != article_of[j]]
        cands = sorted((_Link(float(rng.random()), i, j, bool(rng.random() < 0.1)) for i, j in pairs), key=lambda c: -c.score)
        yes = {p for p in pairs if rng.random() < 0.6}
        asked = []

        def verdicts(batch):
            asked.extend(batch)
            return [p in yes for p in batch]

        got = sorted(sorted(c) for c in _complete_link(cands, floor, article_of, verdicts, ahead=3))
        assert got == _eager_complete_link(cands, floor, article_of, lambda i, j: (i, j) in yes)
        assert len(asked) == len(set(asked)) <= sum(not c[3] for c in cands)
