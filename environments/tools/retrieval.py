"""Multi-hop retrieval: answer a question that chains facts across documents found by search."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from envarena.task_env import TaskEnv
from envarena.tools import tool
from envarena.types import Message, Score, ToolCall
from envarena.verifiers import exact_match

_FIRST = ["Aino", "Bruno", "Chiara", "Dmitri", "Esme", "Farid", "Greta", "Hugo", "Isla", "Jonas", "Kaia", "Luca"]
_LAST = ["Varga", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Quinn", "Rossi"]
_COMPANIES = ["Quillstone", "Brightwave", "Nordforge", "Helixa", "Tundra Labs", "Corvid Works", "Solenne", "Mirelle"]
# Enough cities and countries that one fixed guess is rarely right (at most 1 in 8 on average).
_CITIES = ["Arkona", "Belmira", "Castellan", "Dunmore", "Eskervale", "Fennwick", "Glenhollow", "Harrowgate",
           "Istvara", "Juniper Bay", "Korvash", "Lowmarsh"]
_COUNTRIES = ["Valdoria", "Estrelia", "Norvania", "Calderon", "Ostmark", "Pellucia", "Ruthenor", "Sarvenne"]
_PRODUCTS = ["sensors", "bicycles", "ceramics", "software", "textiles", "drones"]
_HOPS = {"easy": 2, "medium": 2, "hard": 3}
_PEOPLE = {"easy": 6, "medium": 12, "hard": 12}
_TOKEN = re.compile(r"[a-z0-9]+")
_SPARE_READS = 2  # documents read beyond the chain that still earn progress


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 over a handful of documents (k1=1.5, b=0.75)."""

    def __init__(self, documents: dict[str, str], k1: float = 1.5, b: float = 0.75) -> None:
        self.ids = list(documents)
        self.docs = [Counter(tokens(documents[i])) for i in self.ids]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        frequency = Counter(term for d in self.docs for term in d)
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        self.k1, self.b = k1, b

    def search(self, query: str, k: int = 5) -> list[str]:
        scores = []
        for doc_id, doc, length in zip(self.ids, self.docs, self.lengths):
            score = 0.0
            for term in set(tokens(query)):
                tf = doc.get(term, 0)
                if tf:
                    score += self.idf[term] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / self.average))
            if score > 0:
                scores.append((score, doc_id))
        return [doc_id for _, doc_id in sorted(scores, key=lambda x: (-x[0], x[1]))[:k]]


@dataclass
class RetrievalTask:
    question: str
    answer: str
    documents: dict[str, str]
    needed: list[str]
    index: BM25 = field(repr=False, compare=False, default=None)  # type: ignore[assignment]


def build_task(rng: np.random.Generator, people: int, hops: int) -> RetrievalTask:
    names = list(dict.fromkeys(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(people * 3)))[:people]
    employer = {p: str(rng.choice(_COMPANIES)) for p in names}
    hometown = {p: str(rng.choice(_CITIES)) for p in names}
    headquarters = {c: str(rng.choice(_CITIES)) for c in _COMPANIES}
    country = {c: str(rng.choice(_COUNTRIES)) for c in _CITIES}
    documents: dict[str, str] = {}
    for p in names:
        documents[f"person:{p}"] = (f"{p} works at {employer[p]} as an engineer. {p} grew up in {hometown[p]} "
                                    f"and enjoys {rng.choice(['chess', 'sailing', 'painting', 'running'])}.")
    for c in _COMPANIES:
        documents[f"company:{c}"] = (f"{c} makes {rng.choice(_PRODUCTS)}. The headquarters of {c} are in "
                                     f"{headquarters[c]}. It was founded in {int(rng.integers(1950, 2020))}.")
    for c in _CITIES:
        documents[f"city:{c}"] = f"{c} is a city in {country[c]} known for its {rng.choice(['harbour', 'old town', 'university', 'markets'])}."
    person = names[int(rng.integers(len(names)))]
    company = employer[person]
    if hops == 2:
        question = f"In which city are the headquarters of the company where {person} works?"
        answer, needed = headquarters[company], [f"person:{person}", f"company:{company}"]
    else:
        question = f"In which country are the headquarters of the company where {person} works?"
        city = headquarters[company]
        answer, needed = country[city], [f"person:{person}", f"company:{company}", f"city:{city}"]
    return RetrievalTask(question, answer, documents, needed, BM25(documents))


class _RetrievalSolver:
    """Searches for each entity on the chain, reads its document, then answers."""

    def __init__(self, env: RetrievalEnv) -> None:
        self.env = env

    def act(self, observation: list[Message]) -> Message:
        env = self.env
        for doc_id in env.task.needed:
            if doc_id not in env.read_ids:
                name = doc_id.split(":", 1)[1]
                if doc_id not in env.found_ids:
                    return Message.assistant(tool_calls=[ToolCall(id=f"s{env.turn}", name="search", arguments={"query": name})])
                return Message.assistant(tool_calls=[ToolCall(id=f"r{env.turn}", name="read", arguments={"doc_id": doc_id})])
        return Message.assistant(f"<answer>{env.task.answer}</answer>")


class RetrievalEnv(TaskEnv[RetrievalTask]):
    """Multi-hop retrieval: answer a question whose facts are spread over generated documents.

    A `search` tool ranks documents with BM25 and a `read` tool returns one. Questions chain
    two facts (person -> employer -> headquarters city) or, on hard, three (-> country), over
    a knowledge base generated from the seed (6 to 12 people plus companies and cities).
    Rewards: `progress` (potential: half of the share of needed documents read while at most
    two extra documents were read, 1 when answered), `tool_error`, `format` and `outcome` (exact answer).
    """

    default_max_attempts = 2
    tool_turns = 10

    #: Documents returned by search and documents read this episode (set at reset).
    found_ids: set[str]
    read_ids: set[str]

    @tool
    def search(self, query: str) -> str:
        """Search the documents; returns the ids and first sentences of the best matches.

        Args:
            query: Words to look for, e.g. a name.
        """
        hits = self.task.index.search(query)
        self.found_ids.update(hits)
        if not hits:
            return "No documents match."
        return "\n".join(f"{h}: {self.task.documents[h].split('. ')[0]}." for h in hits)

    @tool
    def read(self, doc_id: str) -> str:
        """Read a whole document by its id (as returned by search).

        Args:
            doc_id: A document id such as "person:Ada Lovelace".
        """
        if doc_id not in self.task.documents:
            raise KeyError(f"no document '{doc_id}'; use an id returned by search")
        self.read_ids.add(doc_id)
        return self.task.documents[doc_id]

    def begin_task(self, task: RetrievalTask) -> None:
        self.found_ids, self.read_ids = set(), set()

    def generate(self, rng: np.random.Generator) -> RetrievalTask:
        return build_task(rng, _PEOPLE[self.difficulty], _HOPS[self.difficulty])

    def system_prompt(self) -> str:
        return "Answer questions using the search and read tools over a document collection. " + self.answer_instructions

    def prompt(self, task: RetrievalTask) -> str:
        return f"{task.question} {self.answer_instructions}"

    def progress_after_tools(self) -> float | None:
        # Reading is progress only while it is targeted: an agent that reads everything reads
        # the needed documents too, without having followed the chain. No credit is added once
        # more documents were read than the chain needs plus a small margin.
        if len(self.read_ids) > len(self.task.needed) + _SPARE_READS:
            return None
        return self.tool_progress(sum(d in self.read_ids for d in self.task.needed) / len(self.task.needed))

    def check(self, task: RetrievalTask, answer: str) -> Score:
        return self.with_tool_credit(exact_match(task.answer, answer))

    def solution(self, task: RetrievalTask) -> str:
        return task.answer

    def reference_solver(self) -> _RetrievalSolver:  # type: ignore[override]
        return _RetrievalSolver(self)

    def random_action(self, rng: np.random.Generator) -> Message:
        if rng.random() < 0.5:
            doc = list(self.task.documents)[int(rng.integers(len(self.task.documents)))]
            return Message.assistant(tool_calls=[ToolCall(id=f"r{self.turn}", name="read", arguments={"doc_id": doc})])
        return Message.assistant(f"<answer>{rng.choice(_CITIES + _COUNTRIES)}</answer>")
