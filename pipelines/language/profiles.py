"""langdetect with its n-gram profiles held sparsely: half the memory, the same answers.

langdetect keeps, for each of its ~87,600 n-grams, a list of 55 floats (one per language), nearly all
zero: an n-gram occurs in 2.1 languages' profiles on average. That is ~60 MB resident in every process
that detects languages (each pool worker). Here an n-gram of fewer than ``DENSE_MIN`` languages keeps
only its non-zero entries, as a flat tuple ``(index, probability, index, probability, ...)``, the
others keep langdetect's list, and the detector's update step reads either: ~29 MB, at about the
same speed.

The update is bit for bit langdetect's: it multiplies each language's probability by
``weight + p``, and where ``p`` is 0.0 that is exactly ``weight`` (adding 0.0 to a finite float
changes nothing), so multiplying those entries by ``weight`` and the others by ``weight + p`` gives
the same floats. Everything else (profile files and their order, n-gram extraction, the seeded random
walk, normalisation) is langdetect's own code; tests/test_language_profiles.py checks the answers
against stock langdetect and that the replaced methods are still the ones reproduced here.
"""
from __future__ import annotations

from typing import Any

from langdetect.detector import Detector
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException

#: An n-gram found in at least this many languages keeps a dense row (~7,400 of ~87,600 n-grams, but the
#: ones a text draws most often).
DENSE_MIN = 4


class _Growing(list):  # type: ignore[type-arg]
    """A row while profiles load: flat (language index, probability) pairs. A frozen dense row is a plain
    list (the interpreter's fast path for indexing is for exact lists) and a sparse one a tuple."""

    __slots__ = ()


class SparseDetector(Detector):  # type: ignore[misc]  # langdetect has no type hints
    """A langdetect ``Detector`` reading the sparse rows of a :class:`SparseDetectorFactory`."""

    def _update_lang_prob(self, prob: list[float], word: str | None, alpha: float) -> bool:
        """langdetect's update of the language probabilities by one n-gram, on a dense or sparse row."""
        row = self.word_lang_prob_map.get(word) if word is not None else None
        if row is None:
            return False
        weight = alpha / self.BASE_FREQ
        if type(row) is list:  # dense: the n-grams most languages share (single letters, common pairs)
            for i in range(len(prob)):  # langdetect's own loop: faster here than a comprehension
                prob[i] *= weight + row[i]
        elif len(row) == 2:  # four n-grams in five occur in one language's profile only
            index = row[0]
            value = prob[index] * (weight + row[1])
            prob[:] = [p * weight for p in prob]
            prob[index] = value
        else:
            present = [(row[k], prob[row[k]] * (weight + row[k + 1])) for k in range(0, len(row), 2)]
            prob[:] = [p * weight for p in prob]
            for index, value in present:
                prob[index] = value
        return True


class SparseDetectorFactory(DetectorFactory):  # type: ignore[misc]
    """langdetect's ``DetectorFactory`` storing each n-gram's non-zero probabilities only.

    ``word_lang_prob_map`` maps an n-gram to a flat tuple of (language index, probability) pairs, or to
    langdetect's list of one probability per language for an n-gram of ``DENSE_MIN`` languages or more.
    Every n-gram of a profile is a key, as in langdetect (one listed with no probability, longer than
    three characters, keeps an empty tuple), so the n-grams langdetect draws from are the same.
    """

    def load_profile(self, profile_directory: str) -> None:
        """Load the profile files as langdetect does (same files, same order), then freeze the rows."""
        self._refuse_second_load()
        super().load_profile(profile_directory)
        self._freeze()

    def load_json_profile(self, json_profiles: list[str]) -> None:
        """Load profiles given as JSON strings, then freeze the rows."""
        self._refuse_second_load()
        super().load_json_profile(json_profiles)
        self._freeze()

    def _refuse_second_load(self) -> None:
        # langdetect sizes every row by the first load, so a second one breaks its detectors (IndexError);
        # here it is refused outright
        if self.langlist:
            raise ValueError("profiles are loaded once per factory (call clear() first)")

    def add_profile(self, profile: Any, index: int, langsize: int) -> None:
        """langdetect's ``add_profile``, appending (index, probability) to a growing row per n-gram."""
        lang = profile.name
        if lang in self.langlist:
            raise LangDetectException(ErrorCode.DuplicateLangError, "Duplicate the same language profile.")
        self.langlist.append(lang)
        rows = self.word_lang_prob_map
        for word in profile.freq:
            row = rows.get(word)
            if row is None:
                rows[word] = row = _Growing()
            length = len(word)
            if 1 <= length <= 3:
                row += (index, 1.0 * profile.freq.get(word) / profile.n_words[length - 1])

    def _freeze(self) -> None:
        """Make each growing row a sparse tuple, or a dense row of every language's probability when at
        least ``DENSE_MIN`` languages have the n-gram (one pass over a list is then the cheaper update)."""
        languages = len(self.langlist)
        rows = self.word_lang_prob_map
        for word, row in rows.items():
            if len(row) >= 2 * DENSE_MIN:
                dense = [0.0] * languages
                for k in range(0, len(row), 2):
                    dense[row[k]] = row[k + 1]
                rows[word] = dense
            else:
                rows[word] = tuple(row)

    def _create_detector(self) -> SparseDetector:
        if not self.langlist:
            raise LangDetectException(ErrorCode.NeedLoadProfileError, "Need to load profiles.")
        return SparseDetector(self)

