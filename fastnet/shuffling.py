"""network2's ``random.shuffle(training_data)``, replayed on positions at compiled speed.

network2 shuffles its list in place at the start of every epoch.  fastnet
needs the same permutation, and must leave the generator exactly where that
shuffle would have left it, so that the same seeds give the same run.
"""
import random
import threading

import numpy as np

from fastnet._kernels.shuffle import shuffle_positions

_MT_WORDS = 624                     # the Mersenne Twister's state: 624 words and a position
_local = threading.local()          # one NumPy MT19937 per thread, its state set at each use


def shuffled_positions(n, generator):
    """The permutation ``generator.shuffle`` would apply to a list of length n.

    ``generator`` is the ``random`` module or a ``random.Random``; its state
    advances exactly as that shuffle would advance it.  random.shuffle draws
    the same numbers for any list of a given length, so the permutation is
    all that matters: position k of the shuffled list holds the item that
    was at ``positions[k]``.

    The shuffle's draws are ``getrandbits(k)``, k <= 32, each one 32-bit word
    of the generator's Mersenne Twister.  NumPy's MT19937 is the same
    generator: it takes over the state, hands out the words in bulk
    (``random_raw``), and gives the state back when the shuffle is done.  The
    kernel replays the swaps with the words.  A swap takes at least one word,
    so asking for as many words as swaps remain never takes one too many; a
    few rounds finish the shuffle.  Generators whose draws work otherwise
    (subclasses, SystemRandom) shuffle a Python list instead.
    """
    if n < 2:
        return np.arange(n, dtype=np.intp)
    if not (type(generator) is random.Random or generator is random) or n > 2 ** 32:
        positions = list(range(n))
        generator.shuffle(positions)
        return np.array(positions, dtype=np.intp)
    version, internal, gauss_next = generator.getstate()
    words = _twister()
    words.state = {"bit_generator": "MT19937",
                   "state": {"key": np.array(internal[:_MT_WORDS], dtype=np.uint32),
                             "pos": internal[_MT_WORDS]}}
    positions = np.arange(n, dtype=np.intp)
    top = n - 1
    while top > 0:
        top = shuffle_positions(words.random_raw(top).astype(np.uint32), positions, top)
    state = words.state["state"]
    generator.setstate((version, tuple(state["key"].tolist()) + (int(state["pos"]),),
                        gauss_next))
    return positions


def _twister():
    """This thread's NumPy MT19937 (made once: seeding a new one costs as much as a shuffle)."""
    words = getattr(_local, "words", None)
    if words is None:
        words = _local.words = np.random.MT19937(0)
    return words
