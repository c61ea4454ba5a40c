"""Words for ranking, in English and Chinese, from one function so that articles and questions
are cut the same way.

Runs of Chinese characters are segmented by jieba (rjieba, the maintained binding of jieba-rs;
`cut_for_search` also yields the shorter words inside long ones, so 密码重置 matches 密码);
everything else is split on letters and digits, lowercased and stemmed with Snowball's English
stemmer (PyStemmer), so "refunds" finds "refund". Stop words of both languages (bm25s's lists)
are dropped. A Chinese article that names a product in English is handled by both halves."""

from __future__ import annotations

import re
import threading

import rjieba
import Stemmer
from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN_PLUS

_CJK_RUN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_CHINESE)
_local = threading.local()  # a Stemmer object is not safe to share between threads


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def tokens(text: str) -> list[str]:
    """The ranking words of `text`, in order (repeats kept: BM25 counts them)."""
    found: list[str] = []
    for index, piece in enumerate(_CJK_RUN.split(text)):
        if not piece:
            continue
        if index % 2:  # a run of Chinese characters
            found.extend(w for w in rjieba.cut_for_search(piece) if w not in _STOP)
        else:
            words = [w for w in _WORD.findall(piece.lower()) if w not in _STOP]
            found.extend(_stemmer().stemWords(words))
    return found


def surface_words(text: str) -> list[str]:
    """The words of a question as written (lowercased, no stop words): what an excerpt looks
    for in an article's text."""
    found: list[str] = []
    for index, piece in enumerate(_CJK_RUN.split(text)):
        if index % 2:
            found.extend(w for w in rjieba.cut(piece) if w not in _STOP)
        else:
            found.extend(w for w in _WORD.findall(piece.lower()) if w not in _STOP and len(w) > 1)
    return found
